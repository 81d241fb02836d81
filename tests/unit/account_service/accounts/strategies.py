"""Hypothesis strategies for valid account specs of each kind (built through the real models)."""

from __future__ import annotations

from hypothesis import strategies as st

from services.account_service.accounts import rules
from services.account_service.accounts.schemas import DreaminaCreate, KiroCreate

emails = st.from_regex(r"[a-z0-9][a-z0-9._+-]{0,11}@[a-z0-9-]{1,10}\.[a-z]{2,4}", fullmatch=True)
# Anything but the import format's separators; leading and trailing spaces included on purpose.
passwords = st.text(
    st.characters(blacklist_characters=":\r\n\x00", blacklist_categories=("Cs",)), max_size=16
)
raw_sessionids = st.from_regex(r"[A-Za-z0-9_-]{1,40}", fullmatch=True)
dreamina_regions = st.sampled_from(rules.DREAMINA_REGIONS)


@st.composite
def dreamina_specs(draw) -> DreaminaCreate:
    region = draw(dreamina_regions)
    sessionid = draw(st.one_of(st.none(), raw_sessionids))
    if sessionid is not None and region != "cn" and draw(st.booleans()):
        sessionid = f"{region}-{sessionid}"  # imported already prefixed: stored as given
    password = draw(passwords)
    if sessionid is None:
        if region == "cn":
            sessionid = draw(raw_sessionids)
        elif not password.strip():
            password = draw(passwords.filter(lambda p: p.strip()))
    return DreaminaCreate(email=draw(emails), password=password, region=region, sessionid=sessionid)


tokens = st.from_regex(r"aor[A-Za-z0-9+/=:_.~-]{8,60}", fullmatch=True)
client_ids = st.from_regex(r"[A-Za-z0-9_-]{6,30}", fullmatch=True)
arns = st.from_regex(r"arn:aws:codewhisperer:us-east-1:[0-9]{12}:profile/[A-Z0-9]{12}", fullmatch=True)


@st.composite
def kiro_specs(draw) -> KiroCreate:
    idc = draw(st.booleans())
    return KiroCreate(
        refresh_token=draw(tokens),
        auth_type="idc" if idc else "social",
        client_id=draw(client_ids) if idc else None,
        client_secret=draw(client_ids) if idc else None,
        profile_arn=draw(st.one_of(st.none(), arns)),
        region=draw(st.sampled_from(rules.KIRO_REGIONS)),
        api_region=draw(st.sampled_from((None, *rules.KIRO_REGIONS))),
    )
