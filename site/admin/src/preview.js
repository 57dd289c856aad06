// Previews that look like the site: the campaign landing page as residents see it on a phone
// (headline, one line, the form, then the words), and a careers page. The markup follows
// site/overrides/campaign.html; the site's own stylesheets are loaded into the preview frame.
import { createElement as h, useEffect } from 'react';

// A phone's width (390 CSS px), as residents see the page.
const PHONE = { boxSizing: 'border-box', maxWidth: '390px', margin: '0 auto', overflowX: 'hidden' };

function usePreviewDocument(doc, title) {
  // The preview is a document of its own: give it a language and a title, as every page has.
  useEffect(() => {
    if (!doc) return;
    doc.documentElement.lang = 'en';
    doc.title = title;
  }, [doc, title]);
}

function text(entry, name) {
  const value = entry.getIn(['data', name]);
  return value === undefined || value === null ? '' : String(value);
}

export function campaignPreview({ formHtml, contactDays }) {
  return function CampaignPreview({ entry, widgetFor, document: doc }) {
    const headline = text(entry, 'headline') || 'Your headline';
    usePreviewDocument(doc, `Preview: ${text(entry, 'title') || 'new campaign'}`);
    const roles = (entry.getIn(['data', 'roles']) || []).toJS ? entry.getIn(['data', 'roles']).toJS() : [];
    return h(
      'div',
      { style: PHONE, 'data-cc-phone': '' },
      h(
        'main',
        { className: 'md-content', 'data-cc-preview': 'campaign' },
        h(
          'article',
          { className: 'md-content__inner md-typeset' },
          h(
            'div',
            { className: 'cc-campaign' },
            h('h1', null, headline),
            h('p', { className: 'cc-campaign__lead' }, text(entry, 'summary')),
            h('h2', { id: 'tell-us' }, 'Tell us about you'),
            h(
              'p',
              { className: 'cc-campaign__steps' },
              `It takes about 2 minutes. It is free. A local partner will contact you within ${contactDays} working days.`,
            ),
            h('div', { className: 'cc-preview-form', inert: '', dangerouslySetInnerHTML: { __html: formHtml } }),
            h('h2', { id: 'about' }, 'About this campaign'),
            h('div', { className: 'cc-preview-body' }, widgetFor('body')),
            roles.length
              ? h(
                  'section',
                  { className: 'cc-campaign__roles', 'aria-labelledby': 'roles-title' },
                  h('h2', { id: 'roles-title' }, 'Jobs you could explore'),
                  h('ul', null, roles.map(role => h('li', { key: role }, role.replace(/-/g, ' ')))),
                )
              : null,
          ),
        ),
      ),
    );
  };
}

export function pagePreview() {
  return function PagePreview({ entry, widgetFor, document: doc }) {
    usePreviewDocument(doc, `Preview: ${text(entry, 'title')}`);
    return h(
      'div',
      { style: PHONE, 'data-cc-phone': '' },
      h(
        'main',
        { className: 'md-content' },
        h('article', { className: 'md-content__inner md-typeset' }, widgetFor('body')),
      ),
    );
  };
}
