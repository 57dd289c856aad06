"""The site room: campaigns, pages and pay in; the static site, QR codes and posters out."""
