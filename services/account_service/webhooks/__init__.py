"""Alerts by webhook: signed JSON POSTs to URLs users (and admins, operator-wide) register.

`alerts.py` turns events heard on the broker into delivery rows (one per webhook that wants the
alert); `dispatcher.py` sends due rows, retrying with exponential backoff; `signing.py` is the
signature scheme receivers check. Management: `endpoints.py` (`/api/v1/webhooks`), the console page
(console/pages/webhooks.py); both go through `service.py`.
"""
