"""``cchcc person``: find, export and erase a person's data, and read its audit trail.

The work is :class:`hub.person.PersonData`'s; this module resolves the target (the local
stack on ``--port`` or AWS with ``--aws``, :mod:`cchcc.ops.target`), says who is running it
(the AWS caller identity, or the local user), and prints. ``find``, ``backfill`` and
``audit`` print references, dates, counts and ids only; ``export`` prints the person's data,
because that is what the data controller asked for.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from cchcc.project import Project, programme_option

DESCRIPTION = """\
A person's data, for the data controller (UK GDPR Articles 15, 17 and 19).

  find      --email E | --phone P | --reference R: the person's referrals (references,
            dates and campaigns only). By email or phone it looks up a keyed hash, never
            the details themselves. Exit 1 when nothing matches.
  export R  everything held about the person of referral R (and the referrals that
            correct it): their answers, who was sent what and when, outcomes and notes,
            reminders, and when it will all be deleted. --format json (default) or text.
  erase R --reason TEXT
            remove the person's details from every item (referral, notes, idempotency
            records, lookup hashes), keep an anonymised record for statistics (postcode
            district, age band, campaign, placement, spokes, statuses, dates), and send
            every partner that received their details an erasure notice (email and
            webhook, through the router). Safe to run twice. The reason is kept in the
            audit trail: never write the person's details in it.
  audit R   who found, exported, erased or opened referral R, and when.
  backfill  give every referral the lookup hashes under the current key (run it once
            for referrals made before `person find` existed, and after rotating the
            person hash key).

Every use is recorded in the audit trail (who, what, when; never the data).
Target: the local stack on --port, or AWS with --aws (--table, $TABLE_NAME).
"""


def _actor(target: Any) -> str:
    """Who is running this: the AWS caller's ARN, or the local user."""
    import getpass

    if target.local:
        try:
            user = getpass.getuser()
        except Exception:  # noqa: BLE001 (no user name: still audited)
            user = "unknown user"
        return f"{user} (local stack)"
    import boto3

    return boto3.client("sts").get_caller_identity()["Arn"]


def _service(args: argparse.Namespace, project: Project, *, needs_key: bool = False):
    from cchcc.ops import target as targets
    from hub.config import load_programme
    from hub.person import PersonData
    from hub.storage import DynamoReferralStore

    target = targets.resolve(project, port=args.port, aws=args.aws, table=args.table,
                             programme_given=args.programme is not None)
    keys = None
    if needs_key:
        if not target.person_key_parameter:
            raise targets.TargetError("no person hash key parameter (set PERSON_HASH_KEY_PARAMETER)")
        from hub.links import ParameterKeys

        keys = ParameterKeys(target.person_key_parameter, what="person hash key")
    return PersonData(DynamoReferralStore(target.table_name), load_programme(target.programme_file),
                      _actor(target), keys=keys), target


def cmd_person(args: argparse.Namespace, project: Project) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    from cchcc.ops.target import TargetError
    from hub.config import ConfigError
    from hub.links import LinkKeyError
    from hub.lookup import PersonError
    from hub.person import NotFoundError
    from hub.storage import StoreError

    name = f"cchcc person {args.action}"
    try:
        person, target = _service(args, project, needs_key=args.action == "backfill"
                                  or (args.action == "find" and not args.reference))
        return ACTIONS[args.action](person, args)
    except NotFoundError as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        return 1
    except (PersonError, LinkKeyError) as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        return 1
    except (TargetError, ConfigError) as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        return 2
    except (StoreError, ClientError, BotoCoreError) as exc:
        print(f"{name}: the hub could not be reached ({type(exc).__name__}); nothing more was done", file=sys.stderr)
        return 2


def _find(person: Any, args: argparse.Namespace) -> int:
    found = person.find(email=args.email, phone=args.phone, reference=args.reference)
    for item in found:
        print(f"{item.reference}  {item.created_at[:10]}  {item.campaign or '-'}{'  (erased)' if item.erased else ''}")
    print(f"{len(found)} referral(s)", file=sys.stderr)
    return 0


def _export(person: Any, args: argparse.Namespace) -> int:
    data = person.export(args.reference)
    print(json.dumps(data, indent=2, ensure_ascii=False, default=str) if args.format == "json" else as_text(data))
    return 0


def _erase(person: Any, args: argparse.Namespace) -> int:
    result = person.erase(args.reference, args.reason)
    if result.already:
        print(f"already erased: {', '.join(result.references)} (nothing changed)")
        return 0
    print(f"erased: {', '.join(result.references)}")
    for notice in result.notices:
        print(f"  erasure notice queued: {notice}")
    if not result.notices:
        print("  no partner had been sent their details")
    return 0


def _audit(person: Any, args: argparse.Namespace) -> int:
    for event in person.audit(args.reference):
        extra = {k: v for k, v in event.items() if k not in ("at", "action", "actor", "reference", "expires_at")}
        detail = "  " + json.dumps(extra, ensure_ascii=False, sort_keys=True) if extra else ""
        print(f"{event['at']}  {event['action']:<18}  {event['actor']}{detail}")
    return 0


def _backfill(person: Any, args: argparse.Namespace) -> int:
    updated, unchanged = person.backfill()
    print(f"{updated} referral(s) given lookup hashes, {unchanged} already had them")
    return 0


ACTIONS = {"find": _find, "export": _export, "erase": _erase, "audit": _audit, "backfill": _backfill}

_LABELS = {"name": "Name", "email": "Email", "phone": "Phone", "postcode": "Postcode", "age": "Age",
           "interests": "Interested in", "situation": "What they do now", "support_needs": "Support needs",
           "language": "Language for contact", "campaign": "Campaign", "source": "Placement", "event": "Event",
           "channel": "Signed up", "lang": "Page language", "created_at": "Received", "status": "Status",
           "corrects": "Corrects referral"}


def as_text(data: dict[str, Any]) -> str:
    """The export as a letter-like text the data controller can send to the person."""
    out = [f"Your data held by {data['organisation']}",
           f"Data controller: {data['controller']}",
           f"Reference: {data['reference']}   Exported: {data['exported_at'][:10]}", ""]
    for referral in data["referrals"]:
        out.append(f"== Referral {referral['reference']} ==")
        if referral["erased"]:
            out.append("Your details were erased at your request. What is left holds nothing that identifies you:")
            for key, value in referral["anonymised_record"].items():
                out.append(f"  {key}: {value}")
            out.append(f"It will be deleted on {referral['deleted_on']}.")
            out.append("")
            continue
        out.append("What you told us:")
        for key, label in _LABELS.items():
            value = referral["referral"].get(key)
            if value not in (None, "", []):
                out.append(f"  {label}: {', '.join(value) if isinstance(value, list) else value}")
        out.append("Who was asked to help you:")
        for a in referral["assignments"]:
            out.append(f"  {a.get('spoke')}: {a.get('role')} ({a.get('reason')}); asked {a.get('assigned_at') or '-'};"
                       f" latest status {a.get('last_status') or 'none yet'}")
        out.append("Messages sent about you:")
        for m in referral["messages"] or [{"to": "none"}]:
            if m["to"] == "none":
                out.append("  none")
                continue
            out.append(f"  {m.get('at')}: to {m.get('name', m['to'])} by {m.get('channel')}, with: {', '.join(m['fields'])}")
        if referral["outcomes"]:
            out.append("What partners recorded:")
            for o in referral["outcomes"]:
                note = f"; note: {o['note']}" if o.get("note") else ""
                out.append(f"  {o.get('at')}: {o.get('spoke')}: {o.get('status')}{' (' + o['support'] + ')' if o.get('support') else ''}{note}")
        if referral["handovers"]:
            out.append("Passed between partners:")
            for h in referral["handovers"]:
                note = f"; note: {h['note']}" if h.get("note") else ""
                out.append(f"  {h.get('at')}: from {h.get('from_spoke')} to {h.get('to_spoke')}{note}")
        if referral["reminders"]:
            out.append("Reminders to partners that listed your reference (nothing else about you):")
            for r in referral["reminders"]:
                out.append(f"  {r['day']}: {r['kind']} to {r['to']}")
        out.append("Everything that happened, in order:")
        for e in referral["events"]:
            out.append(f"  {e.get('at')}: {e.get('event')}" + (f" ({e.get('spoke')}, {e.get('channel')})" if e.get("spoke") else ""))
        out.append(f"All of this will be deleted on {referral['deleted_on']}.")
        out.append("")
    return "\n".join(out)


def register(sub: argparse._SubParsersAction) -> None:
    from cchcc.ops.commands import add_target_options

    parser = sub.add_parser(
        "person", help="find, export or erase a person's data; read its audit trail",
        description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    find = actions.add_parser("find", help="a person's referrals, by email, phone or reference")
    how = find.add_mutually_exclusive_group(required=True)
    how.add_argument("--email", help="the email address they gave")
    how.add_argument("--phone", help="the phone number they gave")
    how.add_argument("--reference", help="a reference (also lists its corrections)")
    export = actions.add_parser("export", help="everything held about a person (subject access request)")
    export.add_argument("reference")
    export.add_argument("--format", choices=["json", "text"], default="json")
    erase = actions.add_parser("erase", help="erase a person's data and tell the partners")
    erase.add_argument("reference")
    erase.add_argument("--reason", required=True, help="why (kept in the audit trail: no personal details)")
    audit = actions.add_parser("audit", help="who found, exported, erased or opened a referral, and when")
    audit.add_argument("reference")
    actions.add_parser("backfill", help="add the lookup hashes to referrals that lack them (or after a key rotation)")
    for action in (find, export, erase, audit, actions.choices["backfill"]):
        add_target_options(action)
        programme_option(action)
        action.set_defaults(func=cmd_person)
    parser.set_defaults(func=cmd_person)
