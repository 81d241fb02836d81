"""The accounts area's models: as stored, as created and updated, as shown."""

from services.account_service.accounts.schemas._base import AccountCreateBase, rule_error, validation_error
from services.account_service.accounts.schemas._custom_api import CustomApiCreate
from services.account_service.accounts.schemas._dreamina import DreaminaCreate
from services.account_service.accounts.schemas._kiro import KiroCreate
from services.account_service.accounts.schemas._stored import (
    Account,
    CheckKind,
    Format,
    Kind,
    KiroAuthType,
    Status,
    Visibility,
)
from services.account_service.accounts.schemas._update import AccountUpdate
from services.account_service.accounts.schemas._views import (
    IMPORT_TEXT_LIMIT,
    AccountOut,
    AccountPage,
    CallsToday,
    DreaminaImport,
    ImportLine,
    ImportReport,
    KiroExportEntry,
    KiroImport,
    LastCheck,
    QuotaOut,
)

AccountCreate = KiroCreate | CustomApiCreate | DreaminaCreate
CREATE_MODELS: dict[str, type[AccountCreateBase]] = {
    "kiro": KiroCreate,
    "custom_api": CustomApiCreate,
    "dreamina": DreaminaCreate,
}

__all__ = [
    "CREATE_MODELS",
    "IMPORT_TEXT_LIMIT",
    "Account",
    "AccountCreate",
    "AccountCreateBase",
    "AccountOut",
    "AccountPage",
    "AccountUpdate",
    "CallsToday",
    "CheckKind",
    "CustomApiCreate",
    "DreaminaCreate",
    "DreaminaImport",
    "Format",
    "ImportLine",
    "ImportReport",
    "Kind",
    "KiroAuthType",
    "KiroCreate",
    "KiroExportEntry",
    "KiroImport",
    "LastCheck",
    "QuotaOut",
    "Status",
    "Visibility",
    "rule_error",
    "validation_error",
]
