"""Dreamina sessionids: revalidation through jimeng-api, and the browser login for accounts that can."""
