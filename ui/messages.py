"""The one place that turns domain errors and validation issues into words for the user."""

from __future__ import annotations

from desk.errors import DeskError
from desk.interview.issues import Issue
from ui.i18n import N_, _

# Message ids from desk (validation issues and errors) → English message ids of the UI catalog.
MESSAGES: dict[str, str] = {
    "required": N_("Please answer this question."),
    "required.family": N_("Please enter the family name."),
    "required.given": N_("Please enter the given name."),
    "text.too_long": N_("This is too long. Please use at most {max} characters."),
    "kana.not_katakana": N_("Please use kana only (hiragana becomes katakana)."),
    "date.invalid": N_("This date does not exist. Please check the year, month and day."),
    "date.future": N_("This date is in the future. Please check it."),
    "date.too_early": N_("This date is too early. Please check the era and year."),
    "date.incomplete": N_("Please choose the era and enter the year, month and day."),
    "wareki.out_of_era": N_("{era} ends on {last}. Please check the era and year."),
    "wareki.invalid_date": N_("This date does not exist. Please check the year, month and day."),
    "wareki.unknown_era": N_("Please choose the era."),
    "wareki.before_era": N_("{era} starts on {first}. Please check the era and year."),
    "wareki.before_supported": N_("Dates before {first} cannot be entered."),
    "wareki.format": N_("Please choose the era and enter the year, month and day."),
    "postal.format": N_("A postal code has 7 digits, for example 100-0014."),
    "postal.unknown": N_("This postal code was not found. Please check the number."),
    "address.choose": N_("Please choose your address from the list."),
    "postal.unavailable": N_("The postal code data is missing on this device. "
                             "Please ask a staff member."),
    "count.range": N_("Please choose a number from {min} to {max}."),
    "choice.invalid": N_("Please choose one answer."),
    "store.write_failed": N_(
        "Your answers could not be saved on this device. They are still on the screen. "
        "Please ask a staff member."
    ),
    "store.damaged": N_(
        "The data file of this device is damaged. Nothing was deleted. Please ask a staff member "
        "to restore it from a backup."
    ),
    "store.tampered": N_("A saved draft could not be opened because it was changed. "
                         "Please ask a staff member."),
    "store.key_locked": N_("The device key is locked. Please ask a staff member."),
    "error.unexpected": N_("Something went wrong. Your answers are safe. "
                           "Please ask a staff member."),
}


def _word(message_id: str, params: dict[str, object]) -> str:
    template = MESSAGES.get(message_id, MESSAGES["error.unexpected"])
    try:
        return _(template, **params)
    except (KeyError, IndexError):  # a parameter the sentence does not expect: say it plainly
        return _(template)


def issue_text(issue: Issue) -> str:
    """Word one validation issue in the active language."""
    return _word(issue.message_id, issue.params)


def error_text(error: BaseException) -> str:
    """Word any error in the active language, without leaking its details to the screen."""
    if isinstance(error, DeskError):
        if error.message_id in MESSAGES:
            return _word(error.message_id, error.params)
        if error.message_id.startswith("store."):
            return _word("store.write_failed", {})
    return _word("error.unexpected", {})
