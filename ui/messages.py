"""The one place that turns domain errors and validation issues into words for the user."""

from __future__ import annotations

from desk.errors import DeskError
from desk.interview.issues import Issue
from ui.catalog_text import plain
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
    "date.past": N_("This date has already passed. Please enter a date from today on."),
    "date.too_late": N_("This date is too far in the future. Please check the era and year."),
    "date.notation_required": N_("Please write the date as far as you know it, "
                                 "for example “around 1945”."),
    "age.before_birth": N_("This date is before the date of birth. Please check it."),
    "text.format": N_("Please type your answer in this field."),
    "number.format": N_("Please enter a number using digits only, for example 12."),
    "number.range": N_("Please enter a number from {min} to {max}."),
    "number.range_min": N_("Please enter a number of at least {min}."),
    "number.range_max": N_("Please enter a number of at most {max}."),
    "yes_no.choose": N_("Please choose “Yes” or “No”."),
    "phone.format": N_("Please enter a phone number in Japan, starting with 0 "
                       "(digits and hyphens only)."),
    "phone.length": N_("This phone number should have {expected} digits. Please check it."),
    "email.format": N_("This is not a complete e-mail address. "
                       "Please check it, for example madoguchi@example.jp."),
    "email.fullwidth": N_("Please type the e-mail address in half-width letters. "
                          "Full-width letters and ＠ cannot be used."),
    "email.length": N_("This e-mail address is too long. It can have at most {max} characters."),
    "bank.bank_code": N_("Please enter the bank code: {digits} digits."),
    "bank.branch_code": N_("Please enter the branch code: {digits} digits."),
    "bank.account_type": N_("Please choose the account type."),
    "bank.account_number": N_("Please enter the account number: up to {digits} digits."),
    "bank.holder": N_("Please enter the account holder in katakana, as in the passbook."),
    "bank.yucho_kigo": N_("The Japan Post Bank symbol has {digits} digits "
                          "and starts with 0 or 1. Please check it."),
    "bank.yucho_bango": N_("Please check the Japan Post Bank number: "
                           "up to {digits} digits, as in the passbook."),
    "bank_account.format": N_("Please check the bank account details."),
    "mynumber.invalid": N_("This is not a valid My Number. "
                           "Please check the 12 digits on your card."),
    "mynumber.format": N_("A My Number has 12 digits. Please check it."),
    "mynumber.check_digit": N_("This is not a valid My Number. "
                               "Please check the 12 digits on your card."),
    "unknown.not_allowed": N_("This question needs an answer here. "
                              "If you are not sure, please ask a staff member."),
    "check.failed": N_("Please check this answer."),
    "field.invalid": N_("Please check this answer."),
    "store.write_failed": N_(
        "Your answers could not be saved on this device. They are still on the screen. "
        "Please ask a staff member."
    ),
    "store.read_failed": N_("Saved answers could not be read on this device. "
                            "Please ask a staff member."),
    "store.damaged": N_(
        "The data file of this device is damaged. Nothing was deleted. Please ask a staff member "
        "to restore it from a backup."
    ),
    "store.newer_schema": N_("The data file of this device was written by a newer version of "
                             "the app. Please ask a staff member."),
    "store.migration_failed": N_("The data file of this device could not be updated. "
                                 "Nothing was deleted. Please ask a staff member."),
    "store.tampered": N_("A saved draft could not be opened because it was changed. "
                         "Please ask a staff member."),
    "store.key_locked": N_("The device key is locked. Please ask a staff member."),
    "store.no_keyring": N_("This device has no safe place for its key. "
                           "Please ask a staff member."),
    "store.passphrase_needed": N_("The device passphrase has not been entered. "
                                  "Please ask a staff member."),
    "store.passphrase_wrong": N_("The passphrase is not correct. Please try again."),
    "store.kdf_unsupported": N_("The device key is protected in a way this version cannot "
                                "open. Please ask a staff member."),
    "store.busy": N_("The device is busy. Please wait a moment and try again."),
    "store.backup_other_device": N_("This backup belongs to another device and cannot be "
                                    "opened here."),
    "store.shredded": N_("These answers were deleted and cannot be opened any more."),
    "store.not_editable": N_("This application was already sent and cannot be changed."),
    "store.unavailable": N_("Answers cannot be saved on this device at the moment. "
                            "Please ask a staff member."),
    "policy.denied": N_("This cannot be done with this sign-in on this device. "
                        "Please ask a staff member."),
    "draft.code_unknown": N_("This reference code was not found. Please check it and try "
                             "again."),
    "draft.code_paused": N_("The code was wrong several times. Please wait one minute, "
                            "then try again."),
    "account.signin_failed": N_("The ID or the PIN is not correct. Please try again."),
    "account.locked": N_("Too many wrong PINs: this sign-in is locked for {minutes} "
                         "minute(s). Please wait, or ask a supervisor."),
    "account.secret_weak": N_("This PIN is too easy to guess. Please use at least {min} "
                              "characters, not all the same and not in a row like 1234."),
    "account.pins_differ": N_("The two new PINs are not the same. Please type them again."),
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
    """Word one validation issue in the active language.

    A failed catalog check brings its own words (`issue.text`); a range open at one end is
    worded without the missing bound.
    """
    if issue.message_id == "check.failed" and issue.text is not None:
        text = plain(issue.text)
        if text:
            return text
    if issue.message_id == "number.range":
        low, high = issue.params.get("min"), issue.params.get("max")
        if low is None and high is not None:
            return _word("number.range_max", issue.params)
        if high is None and low is not None:
            return _word("number.range_min", issue.params)
    return _word(issue.message_id, issue.params)


# Why drafts are off, for the banner shown on every page while they are.
DRAFTS_OFF = N_("Answers are not saved on this device. {reason}")


def drafts_off_reason(error: DeskError) -> str:
    """Why drafts cannot be saved, in the active language (never a write-failure sentence)."""
    if error.message_id in MESSAGES:
        return _word(error.message_id, error.params)
    return _word("store.unavailable", {})


def error_text(error: BaseException) -> str:
    """Word any error in the active language, without leaking its details to the screen."""
    if isinstance(error, DeskError):
        if error.message_id in MESSAGES:
            return _word(error.message_id, error.params)
        if error.message_id.startswith("store."):
            return _word("store.write_failed", {})
    return _word("error.unexpected", {})
