"""The main window: top bar (progress, language, text size, session) and the pages of one visit.

Besides the visit itself (home → questions → check → declaration → confirmation) it holds
what keeps a shared device safe: sign-in at desks and counters, the kiosk's inactivity
warning, the staff lock, the reference-code way back into a saved visit, and a drafts-off
mode when the store or its key cannot be opened.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QApplication,
    QLabel,
    QLineEdit,
    QMainWindow,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy import Engine

from desk.catalog.model import Catalog
from desk.catalog.text import strip_ruby
from desk.config import DeviceConfig
from desk.errors import DeskError, KeyUnavailableError, StoreError
from desk.ids import normalize_reference_code
from desk.interview.engine import Interview, StepOutcome
from desk.policy import Action, PolicyError, Role, allowed
from desk.service import Actor, DeskService
from desk.store.accounts import Account, AccountStore
from desk.store.crypto import KdfParams
from desk.store.database import open_store_engine
from desk.store.drafts import READY, DraftStore, DraftSummary
from desk.store.keys import KeyStore, open_key_store
from desk.store.retention import RetentionReport, RetentionSchedule, apply_retention
from desk.visit import VisitSession, mynumber_items
from sync.errors import RejectedError
from sync.mapping import audit_head_of, build_payload, payload_to_json
from sync.protocol import Handoff, HandoffRequest
from sync.registration import open_client
from sync.worker import (
    OutboxOverview,
    SyncReport,
    SyncState,
    SyncWorker,
    device_worker,
    outbox_overview,
)
from ui.catalog_text import plain
from ui.i18n import _, set_language
from ui.messages import DRAFTS_OFF, drafts_off_reason, error_text
from ui.screens.base import Page
from ui.screens.checklist import ChecklistPage
from ui.screens.confirmation import ConfirmationPage
from ui.screens.declaration import DeclarationPage
from ui.screens.duplicate import DuplicatePage
from ui.screens.home import HomePage
from ui.screens.idle import IdleWarningPage
from ui.screens.question import QuestionPage
from ui.screens.resume_code import ResumeCodePage
from ui.screens.review import ReviewPage
from ui.screens.saved import SavedPage
from ui.screens.sign_in import LockPage, SignInPage
from ui.screens.store_problem import StoreProblemPage
from ui.tasks import CallbackBridge, TaskContext, TaskRunner
from ui.theme import Theme, apply_theme, restyle_tree
from ui.widgets.idle import IdleWatcher
from ui.widgets.scrub import clear_clipboard
from ui.widgets.top_bar import TopBar

log = logging.getLogger(__name__)

CONFIRM_WAIT_MS = 15_000  # after sending, the confirmation waits this long for the gateway
RETENTION_INTERVAL_S = 3600.0  # security.md: retention runs at start and hourly
COUNTDOWN_TICK_MS = 1000


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class IdleTimes:
    """How long a device may sit untouched (security.md "Sessions, roles, shared devices").

    A kiosk warns after `kiosk_warning_after_s` and ends the visit `kiosk_countdown_s`
    later; a signed-in desk or counter locks after `staff_lock_after_s`.
    """

    kiosk_warning_after_s: float = 90.0
    kiosk_countdown_s: int = 30
    staff_lock_after_s: float = 300.0


@dataclass
class Services:
    """What the window needs from the layers below, built once by the app bootstrap.

    `keys` is None when the device key cannot be opened; `key_problem` says why, and the
    window runs with drafts off (nothing saved, nothing sent) until staff fix it. Sending
    needs the device registered with its gateway (`DeviceConfig.registered`); otherwise
    sending is off and drafts are still saved.
    """

    catalog: Catalog
    device: DeviceConfig
    store_path: Path
    keys: KeyStore | None
    key_problem: DeskError | None = None
    kdf: KdfParams | None = None  # cost of new PIN hashes (None: the default)
    idle: IdleTimes = field(default_factory=IdleTimes)
    retention_interval_s: float | None = RETENTION_INTERVAL_S  # None: retention off (tests)
    clock: Callable[[], dt.datetime] = field(default=_utc_now)  # tests move it
    sync_options: dict[str, Any] = field(default_factory=dict)  # SyncWorker settings (tests)

    def actor(self, role: Role = Role.RESIDENT, login: str | None = None) -> Actor:
        """The actor of this device for a role (the kiosk's resident unless signed in)."""
        return Actor(self.device.mode, self.device.desk_id, role, login)

    def open_keys(self, passphrase: str = "") -> KeyStore:
        """Open the device's key store again (after staff unlocked the keyring or typed the
        passphrase); KeyUnavailableError says why not."""
        return open_key_store(self.store_path.parent, self.device.key_store,
                              passphrase=passphrase or None,
                              backend=self.device.keyring_backend,
                              profile_name=self.device.device_id)


def push_handoff(device: DeviceConfig, store_path: Path, keys: KeyStore,
                 request: HandoffRequest) -> Callable[[TaskContext], bool]:
    """Build the background task that hands a saved visit to the gateway (own store, client).

    Returns False when sending is off (no credentials): nothing was sent.
    """

    def work(context: TaskContext) -> bool:
        store = DraftStore(store_path, keys)
        try:
            client = open_client(device, store.engine, keys)
        finally:
            store.close()
        if client is None:
            return False
        with client:
            client.push_handoff(request)
        return True

    return work


def pick_up_handoff(device: DeviceConfig, store_path: Path, keys: KeyStore,
                    code: str) -> Callable[[TaskContext], Handoff | None]:
    """Build the background task that fetches a handed-off visit by its reference code."""

    def work(context: TaskContext) -> Handoff | None:
        store = DraftStore(store_path, keys)
        try:
            client = open_client(device, store.engine, keys)
        finally:
            store.close()
        if client is None:
            return None
        with client:
            return client.pick_up_handoff(code)

    return work


def retention_pass(store_path: Path, keys: KeyStore,
                   now: dt.datetime) -> Callable[[TaskContext], RetentionReport]:
    """Build the background task that shreds what the retention policy says is due."""

    def work(context: TaskContext) -> RetentionReport:
        store = DraftStore(store_path, keys)
        try:
            return apply_retention(store, now)
        finally:
            store.close()

    return work


class UnsavedVisit:
    """A visit kept in memory only, while drafts are off: nothing is saved, nothing is sent.

    It offers the part of `VisitSession` the window uses; reopening and sending refuse with
    ``store.unavailable``.
    """

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog
        self.interview: Interview | None = None
        self.draft: DraftSummary | None = None

    def existing(self, *, procedure_id: str | None = None,
                 event_id: str | None = None) -> DraftSummary | None:
        """Nothing was saved, so there is nothing to continue."""
        return None

    def start(self, procedure_id: str) -> Interview:
        """Begin an unsaved interview of one procedure."""
        self.interview = Interview(self._catalog, procedure_ids=(procedure_id,))
        return self.interview

    def start_event(self, event_id: str) -> Interview:
        """Begin an unsaved interview from a life event."""
        self.interview = Interview(self._catalog, event_id=event_id)
        return self.interview

    def resume(self, draft_id: str) -> Interview:
        """Refused: nothing can be opened from the store."""
        raise DeskError("store.unavailable")

    def resume_by_code(self, code: str) -> Interview:
        """Refused: nothing can be opened from the store."""
        raise DeskError("store.unavailable")

    def resumable(self) -> list[DraftSummary]:
        """No saved drafts to list."""
        return []

    def answer(self, values: dict[str, Any], *, unknown: bool = False) -> StepOutcome:
        """Answer the current step (kept in memory only)."""
        return self._require().answer(values, unknown=unknown)

    def back(self) -> None:
        """Go one step back."""
        self._require().back()

    def change(self, key: str) -> None:
        """From the check page, go to one screen."""
        self._require().change(key)

    def finalize(self, payload: dict[str, Any]) -> DraftSummary:
        """Refused: sending needs the store's outbox."""
        raise DeskError("store.unavailable")

    def refresh(self) -> DraftSummary:
        """Refused: there is no stored draft."""
        raise DeskError("store.unavailable")

    def end(self) -> None:
        """Forget the answers."""
        self.interview = None

    def _require(self) -> Interview:
        if self.interview is None:
            raise RuntimeError("no interview running")
        return self.interview


class MainWindow(QMainWindow):
    """One visit at a time: home → questions → check → declaration → confirmation."""

    def __init__(self, services: Services, theme: Theme, tasks: TaskRunner | None = None) -> None:
        super().__init__()
        self.services = services
        self.theme = theme
        self.tasks = tasks or TaskRunner()
        self.store: DraftStore | None = None
        self.store_problem: DeskError | None = None
        self._accounts_engine: Engine | None = None  # accounts while drafts are off
        self._open_store()
        self.account: Account | None = None
        self._pending_pin_change: tuple[Account, str] | None = None
        self.actor = services.actor()
        self.service: DeskService | None = None
        self.visit: VisitSession | UnsavedVisit = UnsavedVisit(services.catalog)
        self._build_session(self.actor)
        self.sync_bridge = CallbackBridge()
        self.sync_worker: SyncWorker | None = None
        self.sync_state = SyncState.SENDING_OFF
        self.sync_report: SyncReport | None = None
        self._awaiting: str | None = None  # the application the declaration page waits for
        self._picking_up: str | None = None  # a reference code being fetched from the gateway
        self._session_active = False  # a resident's visit reached a draft since the last wipe
        self._problem_seen = False
        self._offer: tuple[str | None, str | None] = (None, None)  # (event id, procedure id)
        self._before_warning: QWidget | None = None
        self._countdown_left = 0
        self._lock_return: tuple[str | None, bool] | None = None  # draft id, at declaration
        self._held_unsaved: Interview | None = None  # drafts off: the only copy of a visit

        central = QWidget(self)
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.top_bar = TopBar(central)
        layout.addWidget(self.top_bar)
        self.banner = QLabel(central)
        self.banner.setWordWrap(True)
        self.banner.setProperty("role", "error")
        self.banner.setContentsMargins(24, 8, 24, 8)
        layout.addWidget(self.banner)
        # For signed-in staff: where sending stands (counts only, never whose application).
        self.sync_status = QLabel(central)
        self.sync_status.setWordWrap(True)
        self.sync_status.setProperty("role", "help")
        self.sync_status.setContentsMargins(24, 4, 24, 4)
        self.sync_status.hide()
        layout.addWidget(self.sync_status)
        self.stack = QStackedWidget(central)
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)

        self.home = HomePage()
        self.question = QuestionPage()
        self.checklist = ChecklistPage()
        self.review = ReviewPage()
        self.declaration = DeclarationPage()
        self.confirmation = ConfirmationPage()
        self.resume_code = ResumeCodePage()
        self.saved = SavedPage()
        self.duplicate = DuplicatePage()
        self.sign_in = SignInPage()
        self.lock_page = LockPage()
        self.idle_page = IdleWarningPage()
        self.problem_page = StoreProblemPage()
        for page in self._pages():
            self.stack.addWidget(page)

        self.home.event_clicked.connect(self._on_home_event_clicked)
        self.home.start_clicked.connect(self._on_home_start_clicked)
        self.home.resume_clicked.connect(self._on_home_resume_clicked)
        self.home.discard_clicked.connect(self._on_home_discard_clicked)
        self.home.code_clicked.connect(self._on_home_code_clicked)
        self.question.next_clicked.connect(self._on_question_next_clicked)
        self.question.back_clicked.connect(self._on_question_back_clicked)
        self.question.unknown_clicked.connect(self._on_question_unknown_clicked)
        self.checklist.next_clicked.connect(self._on_checklist_next_clicked)
        self.checklist.back_clicked.connect(self._on_question_back_clicked)
        self.review.change_clicked.connect(self._on_review_change_clicked)
        self.review.next_clicked.connect(self._on_review_next_clicked)
        self.review.back_clicked.connect(self._on_review_back_clicked)
        self.declaration.send_clicked.connect(self._on_declaration_send_clicked)
        self.declaration.back_clicked.connect(self._show_review)
        self.confirmation.finish_clicked.connect(self._finish_visit)
        self.resume_code.code_entered.connect(self._on_resume_code_entered)
        self.resume_code.back_clicked.connect(self.show_home)
        self.saved.finish_clicked.connect(self._finish_visit)
        self.saved.back_clicked.connect(self._show_position)
        self.duplicate.continue_clicked.connect(self._on_duplicate_continue_clicked)
        self.duplicate.new_clicked.connect(self._on_duplicate_new_clicked)
        self.duplicate.back_clicked.connect(self.show_home)
        self.sign_in.sign_in_requested.connect(self._on_sign_in_requested)
        self.sign_in.new_pin_requested.connect(self._on_new_pin_requested)
        self.lock_page.unlock_requested.connect(self._on_unlock_requested)
        self.lock_page.sign_out_clicked.connect(self.sign_out)
        self.idle_page.continue_clicked.connect(self._on_idle_continue_clicked)
        self.problem_page.retry_clicked.connect(self._on_problem_retry_clicked)
        self.problem_page.continue_clicked.connect(self._on_problem_continue_clicked)
        self.top_bar.language.currentIndexChanged.connect(self._on_language_changed)
        self.top_bar.later_button.clicked.connect(self._on_later_clicked)
        self.top_bar.sign_out_button.clicked.connect(self.sign_out)
        for key, button in self.top_bar.size_buttons.items():
            button.clicked.connect(lambda _=False, k=key: self._on_text_size_clicked(k))

        self.home.show_events(services.catalog.events_in_order())
        self.home.show_procedures([
            p for p in services.catalog.procedures.values()
            if services.device.mode in p.channels
        ])
        self.confirm_timer = QTimer(self)
        self.confirm_timer.setSingleShot(True)
        self.confirm_timer.timeout.connect(self._on_confirm_timer_timeout)
        self._start_sync()
        self.retention: RetentionSchedule | None = None
        if services.retention_interval_s is not None:
            self.retention = RetentionSchedule(
                interval=dt.timedelta(seconds=services.retention_interval_s))
        self._retaining = False
        self.retention_timer = QTimer(self)
        self.retention_timer.setSingleShot(True)
        self.retention_timer.timeout.connect(self._apply_retention_in_background)
        self._schedule_retention()  # due at once: retention runs at start, then hourly
        self.idle = IdleWatcher(self)
        self.idle.idle_reached.connect(self._on_idle_reached)
        self.countdown = QTimer(self)
        self.countdown.setInterval(COUNTDOWN_TICK_MS)
        self.countdown.timeout.connect(self._on_countdown_tick)
        self.resize(1280, 900)
        self.retranslate_ui()
        self.show_start()

    # -- store and session ------------------------------------------------------------------

    def _open_store(self) -> None:
        """Open the draft store, or note why drafts are off (the app runs either way)."""
        path, keys = self.services.store_path, self.services.keys
        if keys is None:
            self.store_problem = self.services.key_problem or KeyUnavailableError(
                "store.no_keyring")
            try:  # sign-ins live in the same file and need no device key
                self._accounts_engine = open_store_engine(path)
            except StoreError as error:
                log.warning("store cannot be opened: %s", error.message_id)
                self.store_problem = error
            return
        try:
            self.store = DraftStore(path, keys)
        except StoreError as error:
            log.warning("store cannot be opened: %s", error.message_id)
            self.store_problem = error
            return
        try:
            recovered = self.store.recover_in_flight()
        except StoreError as error:
            log.warning("in-flight recovery failed: %s", error.message_id)
        else:
            if recovered:
                log.info("%d application(s) left in flight go back to the queue", recovered)

    @property
    def drafts_on(self) -> bool:
        """True when answers are saved (the store and its key are open)."""
        return self.store is not None

    def _accounts(self) -> AccountStore | None:
        engine = self.store.engine if self.store is not None else self._accounts_engine
        return AccountStore(engine, self.services.kdf) if engine is not None else None

    def _build_session(self, actor: Actor) -> None:
        """The service and visit for `actor` (a new sign-in gets a fresh service)."""
        self.actor = actor
        catalog = self.services.catalog
        if self.store is not None:
            self.service = DeskService(self.store, actor, mynumber_items(catalog),
                                       kdf=self.services.kdf)
            self.visit = VisitSession(self.service, catalog)
        else:
            self.service = None
            self.visit = UnsavedVisit(catalog)

    def _may(self, action: Action) -> bool:
        return allowed(self.actor.mode, self.actor.role, action)

    @property
    def _signs_in(self) -> bool:
        """Desks and counters are used by signed-in staff and volunteers only."""
        return self.services.device.mode != "kiosk"

    # -- pages ------------------------------------------------------------------------------

    def retranslate_ui(self) -> None:
        """Every text in the active language; switching never needs a restart."""
        self.setWindowTitle(_("Madoguchi Desk"))
        self.top_bar.retranslate_ui()
        for page in self._pages():
            page.retranslate_ui()
        self._update_banner()
        self._update_sync_status()
        self._update_progress()
        restyle_tree(self, self.theme)

    def _pages(self) -> tuple[Page, ...]:
        return (self.home, self.question, self.checklist, self.review, self.declaration,
                self.confirmation, self.resume_code, self.saved, self.duplicate, self.sign_in,
                self.lock_page, self.idle_page, self.problem_page)

    def _update_banner(self) -> None:
        problem = self.store_problem
        self.banner.setVisible(problem is not None)
        self.banner.setText(_(DRAFTS_OFF, reason=drafts_off_reason(problem))
                            if problem is not None else "")

    def _set_page(self, page: QWidget) -> None:
        """Show a page; every page change goes through here (session bar, idle watch)."""
        if page is not self.idle_page:
            self.countdown.stop()
        restyle_tree(page, self.theme)
        self.stack.setCurrentWidget(page)
        self._update_progress()
        self._update_session_bar()
        self._arm_idle()

    def show_start(self) -> None:
        """The first page: why drafts are off (once), sign-in where needed, else home."""
        accounts_available = self._accounts() is not None
        if self.store_problem is not None and not self._problem_seen:
            self.problem_page.show_problem(
                self.store_problem, can_continue=not self._signs_in or accounts_available)
            self._set_page(self.problem_page)
        elif self._signs_in and self.account is None:
            self._show_sign_in()
        else:
            self.show_home()

    def show_home(self) -> None:
        """The start page; at a desk or counter it lists the desk's unfinished drafts.

        Leaving a visit for home clears its pages; a kiosk resident's session (the drafts
        they may reopen) lasts until they finish, leave with 「あとで続ける」 or time out.
        """
        self.visit.end()
        self._clear_visit_pages()
        drafts: list[DraftSummary] = []
        self._guard(lambda: drafts.extend(self.visit.resumable()))
        self.home.show_drafts(drafts, {d.id: self._draft_title(d) for d in drafts})
        self.home.code_button.setVisible(self.drafts_on and self._may(Action.VIEW_DRAFT))
        self._set_page(self.home)

    def _show_sign_in(self) -> None:
        accounts = self._accounts()
        self.sign_in.reset(has_accounts=accounts is not None and self._count(accounts) > 0)
        self._set_page(self.sign_in)
        self.sign_in.login.setFocus(Qt.FocusReason.OtherFocusReason)

    @staticmethod
    def _count(accounts: AccountStore) -> int:
        try:
            return accounts.count()
        except StoreError as error:
            log.warning("accounts cannot be read: %s", error.message_id)
            return 0

    def _show_position(self) -> None:
        interview = self.visit.interview
        if interview is None:
            self.show_home()
            return
        if interview.at_review:
            self._show_review()
            return
        if interview.at_checklist:
            self.checklist.show_checklist(interview.applicable(), interview.documents())
            self._set_page(self.checklist)
            self.checklist.next_button.setFocus(Qt.FocusReason.OtherFocusReason)
            return
        screen = interview.screen
        assert screen.step is not None
        # Views read the visit's answers; a member's own answers take precedence.
        answers = {**interview.answers, **interview.values_for(screen)}
        self.question.show_step(screen.step, answers, can_go_back=True,
                                unknown=interview.is_unknown(screen))
        self._set_page(self.question)

    def _show_review(self) -> None:
        assert self.visit.interview is not None
        self.review.show_interview(self.visit.interview)
        self._set_page(self.review)
        self.review.next_button.setFocus(Qt.FocusReason.OtherFocusReason)

    def _update_progress(self) -> None:
        interview = self.visit.interview
        if interview is None or self.stack.currentWidget() not in (
                self.question, self.checklist, self.review, self.declaration):
            self.top_bar.progress.setText("")
            return
        progress = interview.progress()
        if interview.at_review or progress.section is None:
            self.top_bar.progress.setText(_("Check your answers"))
            return
        title = plain(progress.section.title)
        self.top_bar.progress.setText(
            _("{title} — {number} / {total}", title=title, number=progress.number,
              total=progress.total)
        )

    def _update_session_bar(self) -> None:
        page = self.stack.currentWidget()
        draft = self.visit.draft
        in_visit = page in (self.question, self.checklist, self.review, self.declaration)
        open_draft = draft if in_visit and draft is not None and draft.status != READY else None
        self.top_bar.show_session(
            code=open_draft.reference_code if open_draft is not None else None,
            later=open_draft is not None,
            login=self.account.login if self.account is not None and page is not self.lock_page
            else None,
        )
        restyle_tree(self.top_bar, self.theme)

    # -- forgetting -------------------------------------------------------------------------

    def _clear_visit_pages(self) -> None:
        """Empty every page that showed a resident's answers or their visit."""
        self.question.clear()
        self.review.clear()
        self.checklist.clear()
        self.declaration.clear()
        self.confirmation.clear()
        self.saved.clear()
        self.duplicate.clear()
        self.resume_code.reset()

    def _wipe(self) -> None:
        """End what this session holds: answers in memory and widgets, reach, clipboard.

        The sealed draft stays in the store, retrievable with its reference code.
        """
        self.countdown.stop()
        self.visit.end()
        if self.service is not None:
            self.service.forget_session()
        self._session_active = False
        self._clear_visit_pages()
        self.top_bar.show_session(code=None, later=False, login=None)
        self.top_bar.progress.setText("")
        for edit in self.findChildren(QLineEdit):
            edit.setText("")  # also drops the undo history, unlike clear()
        clear_clipboard()

    def _finish_visit(self) -> None:
        """The resident is done (finished, or leaves with the code): back to the start page."""
        if self.account is None:
            self._wipe()  # a kiosk visit ends here; the next person starts clean
        self.show_home()

    # -- inactivity -------------------------------------------------------------------------

    def _arm_idle(self) -> None:
        page = self.stack.currentWidget()
        times = self.services.idle
        if page in (self.idle_page, self.lock_page, self.sign_in, self.problem_page):
            self.idle.disarm()
        elif self.account is not None:
            self.idle.arm(int(times.staff_lock_after_s * 1000))
        elif self._signs_in or (page is self.home and not self._session_active):
            self.idle.disarm()  # nothing of anyone's is open
        else:
            self.idle.arm(int(times.kiosk_warning_after_s * 1000))

    def _on_idle_reached(self) -> None:
        if self.account is not None:
            self.lock()
            return
        if self._signs_in:
            return
        self._before_warning = self.stack.currentWidget()
        self._countdown_left = max(1, self.services.idle.kiosk_countdown_s)
        self.idle_page.set_seconds(self._countdown_left)
        self._set_page(self.idle_page)
        self.idle_page.next_button.setFocus(Qt.FocusReason.OtherFocusReason)
        self.countdown.start()

    def _on_countdown_tick(self) -> None:
        self._countdown_left -= 1
        if self._countdown_left > 0:
            self.idle_page.set_seconds(self._countdown_left)
            return
        self.countdown.stop()
        log.info("kiosk visit ended after inactivity")
        self._wipe()
        self.show_home()

    def _on_idle_continue_clicked(self) -> None:
        self.countdown.stop()
        self._set_page(self._before_warning or self.home)

    def lock(self) -> None:
        """Lock a signed-in screen: wipe it, keep only where to come back to, ask the PIN."""
        if self.account is None:
            return
        draft = self.visit.draft
        at_declaration = self.stack.currentWidget() is self.declaration
        self._lock_return = (draft.id if draft is not None and self.drafts_on else None,
                             at_declaration)
        # Drafts off: the interview in memory is the only copy; it stays out of every widget.
        self._held_unsaved = self.visit.interview if not self.drafts_on else None
        self._wipe()
        log.info("screen locked after inactivity")
        self.lock_page.lock(self.account.login)
        self._set_page(self.lock_page)

    def _on_unlock_requested(self, pin: str) -> None:
        accounts, account = self._accounts(), self.account
        if accounts is None or account is None:
            self.sign_out()
            return
        try:
            accounts.authenticate(account.login, pin)
        except DeskError as error:
            log.info("unlock refused: %s", error.message_id)
            self.lock_page.show_message(error_text(error))
            return
        self.lock_page.lock("")
        draft_id, at_declaration = self._lock_return or (None, False)
        self._lock_return = None
        held, self._held_unsaved = self._held_unsaved, None
        if draft_id is not None:
            if not self._guard(lambda: self.visit.resume(draft_id)):
                self.show_home()
                return
            self._session_active = True
            if at_declaration and self.visit.interview is not None \
                    and self.visit.interview.at_review:
                self._on_review_next_clicked()
                return
            self._show_position()
        elif held is not None and isinstance(self.visit, UnsavedVisit):
            self.visit.interview = held
            self._show_position()
        else:
            self.show_home()

    # -- signing in -------------------------------------------------------------------------

    def _on_sign_in_requested(self, login: str, pin: str) -> None:
        accounts = self._accounts()
        if accounts is None or self._count(accounts) == 0:
            self.sign_in.reset(has_accounts=False)
            return
        if not login.strip() or not pin:
            self.sign_in.show_message(_("Please enter your ID and PIN."))
            return
        try:
            account = accounts.authenticate(login, pin)
        except DeskError as error:
            log.info("sign-in refused: %s", error.message_id)
            self.sign_in.show_message(error_text(error))
            return
        if account.must_change:
            self._pending_pin_change = (account, pin)
            self.sign_in.ask_new_pin()
            return
        self._signed_in(account)

    def _on_new_pin_requested(self, new: str, again: str) -> None:
        accounts, pending = self._accounts(), self._pending_pin_change
        if accounts is None or pending is None:
            self._show_sign_in()
            return
        if new != again:
            self.sign_in.show_message(error_text(DeskError("account.pins_differ")))
            return
        account, old = pending
        try:
            accounts.change_own_pin(account.login, old, new)
        except DeskError as error:
            log.info("PIN change refused: %s", error.message_id)
            self.sign_in.show_message(error_text(error))
            return
        self._pending_pin_change = None
        self._signed_in(account)

    def _signed_in(self, account: Account) -> None:
        log.info("signed in as %s", account.role.value)
        self.account = account
        self._build_session(self.services.actor(account.role, account.login))
        self.sign_in.reset(has_accounts=True)
        self._update_sync_status()
        self.show_home()

    def sign_out(self) -> None:
        """End the signed-in session: wipe everything and ask the next person to sign in."""
        self._wipe()
        self.account = None
        self._pending_pin_change = None
        self._lock_return, self._held_unsaved = None, None
        self._build_session(self.services.actor())
        self._update_sync_status()
        self._show_sign_in()

    # -- drafts off -------------------------------------------------------------------------

    def _on_problem_retry_clicked(self, passphrase: str) -> None:
        try:
            keys = self.services.open_keys(passphrase)
            store = DraftStore(self.services.store_path, keys)
        except DeskError as error:
            log.info("device key still unavailable: %s", error.message_id)
            if isinstance(error, StoreError) and not isinstance(error, KeyUnavailableError):
                self.store_problem = error
                self.problem_page.show_problem(error, can_continue=not self._signs_in)
                self._update_banner()
                return
            self.problem_page.show_message(drafts_off_reason(error))
            return
        if self._accounts_engine is not None:
            self._accounts_engine.dispose()
            self._accounts_engine = None
        self.services.keys, self.services.key_problem = keys, None
        self.store, self.store_problem = store, None
        self._build_session(self.actor)
        self._update_banner()
        self._schedule_retention()
        self._start_sync()
        log.info("device key opened: drafts are saved again")
        self.show_start()

    def _on_problem_continue_clicked(self) -> None:
        self._problem_seen = True
        self.show_start()

    # -- slots ------------------------------------------------------------------------------

    def _guard(self, action: Callable[[], object]) -> bool:
        """Run a store action; on failure show the reason and keep everything on screen."""
        try:
            action()
        except DeskError as error:
            log.warning("action failed: %s", error.message_id)
            text = error_text(error)
            self.question.show_banner(text)
            page = self.stack.currentWidget()
            if page is self.home:
                self.home.intro.setText(text)
            elif page is self.duplicate:
                self.duplicate.show_message(text)
            return False
        return True

    def _draft_title(self, draft: DraftSummary) -> str:
        catalog = self.services.catalog
        if draft.life_event_id:
            return plain(catalog.life_event(draft.life_event_id).title)
        return "、".join(plain(catalog.procedure(p).title) for p in draft.procedure_ids)

    def _on_home_event_clicked(self, event_id: str) -> None:
        self._start_or_offer(event_id=event_id)

    def _on_home_start_clicked(self, procedure_id: str) -> None:
        self._start_or_offer(procedure_id=procedure_id)

    def _start_or_offer(self, *, event_id: str | None = None,
                        procedure_id: str | None = None) -> None:
        """Start a visit, unless one for the same thing is unfinished: then offer it."""
        found: list[DraftSummary | None] = []
        if not self._guard(lambda: found.append(
                self.visit.existing(procedure_id=procedure_id, event_id=event_id))):
            return
        existing = found[0]
        self._offer = (event_id, procedure_id)
        if existing is None:
            self._start_new()
            return
        offered: DraftSummary = existing

        def title() -> str:
            return self._draft_title(offered)

        self.duplicate.show_offer(offered, title, replaces=self._offer_replaces())
        self._set_page(self.duplicate)
        self.duplicate.next_button.setFocus(Qt.FocusReason.OtherFocusReason)

    def _offer_replaces(self) -> bool:
        # A resident starting over means their own earlier draft; staff may have another
        # resident's draft of the same procedure on offer, which must stay.
        return self.actor.role is Role.RESIDENT and self._may(Action.DELETE)

    def _start_new(self) -> None:
        event_id, procedure_id = self._offer
        if event_id is not None:
            started = self._guard(lambda: self.visit.start_event(event_id))
        elif procedure_id is not None:
            started = self._guard(lambda: self.visit.start(procedure_id))
        else:
            return
        if started:
            self._session_active = True
            self._show_position()

    def _on_duplicate_continue_clicked(self) -> None:
        draft = self.duplicate.draft
        if draft is not None and self._guard(lambda: self.visit.resume(draft.id)):
            self._session_active = True
            self._show_position()

    def _on_duplicate_new_clicked(self) -> None:
        draft = self.duplicate.draft
        if draft is not None and self._offer_replaces() and self.service is not None:
            service = self.service
            if not self._guard(lambda: service.delete(draft.id)):
                return
        self._start_new()

    def _on_home_resume_clicked(self, draft_id: str) -> None:
        if self._guard(lambda: self.visit.resume(draft_id)):
            self._session_active = True
            self._show_position()

    def _on_home_discard_clicked(self, draft_id: str) -> None:
        service = self.service
        if service is not None and self._guard(lambda: service.delete(draft_id)):
            self.show_home()

    def _on_home_code_clicked(self) -> None:
        self.resume_code.reset()
        self._set_page(self.resume_code)
        self.resume_code.field.setFocus(Qt.FocusReason.OtherFocusReason)

    def _on_resume_code_entered(self, code: str) -> None:
        if not code.strip():
            self.resume_code.show_message(_("Please enter the reference code."))
            return
        service = self.service
        try:
            if service is not None and self._may(Action.TAKE_OVER):
                draft = service.take_over(code)  # counter staff: the draft moves to this desk
                self.visit.resume(draft.id)
            else:
                self.visit.resume_by_code(code)
        except PolicyError as error:
            log.info("reference code refused: %s", error.message_id)
            # A resident is not told that the code exists at another desk.
            shown = DeskError("draft.code_unknown") if self.actor.role is Role.RESIDENT \
                else error
            self.resume_code.show_message(error_text(shown))
            return
        except DeskError as error:
            log.info("reference code refused: %s", error.message_id)
            if error.message_id == "draft.code_unknown" and self._pick_up_handoff(code):
                return
            self.resume_code.show_message(error_text(error))
            return
        self._session_active = True
        self._show_position()

    def _on_later_clicked(self) -> None:
        draft = self.visit.draft
        if draft is None:
            return
        self._push_handoff()
        self.saved.show_code(draft.reference_code)
        self._set_page(self.saved)
        self.saved.next_button.setFocus(Qt.FocusReason.OtherFocusReason)

    def _on_question_next_clicked(self) -> None:
        assert self.question.view is not None
        values, issues = self.question.view.values()
        if issues:
            self.question.show_issues(issues)
            return
        self._answer(values, unknown=False)

    def _on_question_unknown_clicked(self) -> None:
        self._answer({}, unknown=True)

    def _on_checklist_next_clicked(self) -> None:
        self._answer({}, unknown=False)

    def _answer(self, values: dict[str, object], *, unknown: bool) -> None:
        outcome = None

        def answer() -> None:
            nonlocal outcome
            outcome = self.visit.answer(values, unknown=unknown)

        if not self._guard(answer) or outcome is None:
            return
        if not outcome.accepted:
            self.question.show_issues(list(outcome.issues))
            return
        self._show_position()

    def _on_question_back_clicked(self) -> None:
        interview = self.visit.interview
        assert interview is not None
        if not interview.can_go_back:
            self.show_home()
            return
        if self._guard(self.visit.back):
            self._show_position()

    def _on_review_change_clicked(self, key: str) -> None:
        self.visit.change(key)
        self._show_position()

    def _on_review_next_clicked(self) -> None:
        interview = self.visit.interview
        assert interview is not None
        missing = interview.missing()
        if missing:  # a stale answer (e.g. an address for an old postal code): ask it again
            self.visit.change(missing[0].key)
            self._show_position()
            return
        self.declaration.show_procedures(interview.procedures)
        self.declaration.set_sending_off(not self.drafts_on)
        self._set_page(self.declaration)
        self.declaration.agree.setFocus(Qt.FocusReason.OtherFocusReason)

    def _on_review_back_clicked(self) -> None:
        if self._guard(self.visit.back):
            self._show_position()

    def _on_declaration_send_clicked(self) -> None:
        interview, draft = self.visit.interview, self.visit.draft
        if interview is None or draft is None:  # drafts off: sending is off too
            return
        if draft.status == READY:  # already finalized (a second press): only send again
            self.declaration.set_busy(True)
            self._await_delivery(draft.id)
            return
        data = interview.procedure_data()
        store = self.store

        def freeze() -> None:
            payload = build_payload(
                application_id=draft.id,
                procedures=[(p.id, p.form_version, d) for p, d in data],
                device=self.services.device, captured_at=dt.datetime.now(dt.UTC),
                consent_purpose="\n".join(strip_ruby(p.declaration.raw("ja"))
                                          for p, _data in data),
                # The device's audit chain head travels with the application (security.md).
                audit_head=audit_head_of(store) if store is not None else None,
            )
            self.visit.finalize(payload_to_json(payload))

        if not self._guard(freeze):
            self.declaration.status.setText(self.question.banner.text())
            return
        self.declaration.set_busy(True)
        self._update_session_bar()
        self._await_delivery(draft.id)

    # -- sending ----------------------------------------------------------------------------

    def _start_sync(self) -> None:
        """Start the sync worker once drafts are on and the device is registered."""
        keys, device = self.services.keys, self.services.device
        if self.sync_worker is not None or keys is None or self.store is None:
            self._update_sync_status()
            return
        if not device.registered:
            log.info("sending is off: the device is not registered with a gateway")
            self._update_sync_status()
            return
        self.sync_worker = device_worker(
            self.services.store_path.parent, device, keys,
            on_report=self.sync_bridge.forward(self._on_sync_report),
            on_state=self.sync_bridge.forward(self._on_sync_state),
            **self.services.sync_options,
        )
        self.sync_state = SyncState.STARTING
        self.sync_worker.start()
        self._update_sync_status()

    def _await_delivery(self, application_id: str) -> None:
        """Wake the worker and show the confirmation once it tried this application (or
        cannot send now); the application is safe in the outbox either way."""
        worker = self.sync_worker
        if worker is None:
            self._on_sent()
            return
        self._awaiting = application_id
        self.confirm_timer.start(CONFIRM_WAIT_MS)
        worker.wake()

    def _on_sync_state(self, state: SyncState) -> None:
        self.sync_state = state
        self._update_sync_status()

    def _on_sync_report(self, report: SyncReport) -> None:
        self.sync_report = report
        self.sync_state = report.state
        self._update_sync_status()
        awaiting = self._awaiting
        if awaiting is not None and (report.mentions(awaiting) or report.state in (
                SyncState.OFFLINE, SyncState.CREDENTIALS_REFUSED, SyncState.GATEWAY_UNTRUSTED,
                SyncState.SENDING_OFF)):
            self._on_sent()

    def _on_confirm_timer_timeout(self) -> None:
        log.info("no answer from the gateway yet: the application waits in the outbox")
        self._on_sent()

    def _update_sync_status(self) -> None:
        """Staff see where sending stands; residents never see anything alarming."""
        shown = self.account is not None and self.drafts_on
        self.sync_status.setVisible(shown)
        if not shown:
            self.sync_status.setText("")
            return
        overview = self._sync_overview()
        parts = [_("Waiting to be sent: {waiting}. Needs attention: {attention}.",
                   waiting=overview.waiting, attention=overview.needs_attention)]
        state = self.sync_state if self.sync_worker is not None else SyncState.SENDING_OFF
        if state is SyncState.SENDING_OFF:
            parts.append(_("Sending is off: this device is not registered with the gateway. "
                           "Answers are still saved."))
        elif state is SyncState.OFFLINE:
            parts.append(_("The gateway cannot be reached. Applications wait here and are "
                           "sent automatically."))
        elif state is SyncState.CREDENTIALS_REFUSED:
            parts.append(_("The gateway refused this device. Applications wait here; ask the "
                           "administrator to register the device again."))
        elif state is SyncState.GATEWAY_UNTRUSTED:
            parts.append(_("The gateway's certificate is not trusted, so nothing is sent. "
                           "Ask the administrator."))
        self.sync_status.setText(" ".join(parts))

    def _sync_overview(self) -> OutboxOverview:
        if self.sync_report is not None:
            return self.sync_report.overview
        if self.store is None:
            return OutboxOverview()
        try:  # no worker report yet: one small read of counts
            return outbox_overview(self.store)
        except StoreError as error:
            log.warning("outbox counts cannot be read: %s", error.message_id)
            return OutboxOverview()

    def _push_handoff(self) -> None:
        """Best effort: hand the saved visit to the gateway, so any counter can take it over
        by its code. Never blocks, never loses anything: the draft stays here either way."""
        keys, device = self.services.keys, self.services.device
        if device.mode not in ("kiosk", "desk") or self.sync_worker is None or keys is None \
                or not isinstance(self.visit, VisitSession):
            return
        if self.sync_state in (SyncState.CREDENTIALS_REFUSED, SyncState.GATEWAY_UNTRUSTED):
            return
        held = self.visit.handoff()
        if held is None:
            return
        draft, procedures, answers = held
        try:
            request = HandoffRequest(reference_code=draft.reference_code, draft_id=draft.id,
                                     procedure_ids=procedures, answers=answers)
        except ValidationError:
            # Never the error's text: it quotes the answers.
            log.warning("visit not handed off: it does not fit the handoff form")
            return
        self.tasks.run(push_handoff(device, self.services.store_path, keys, request),
                       on_done=self._on_handoff_pushed, on_error=self._on_handoff_failed)

    def _on_handoff_pushed(self, pushed: bool) -> None:
        log.info("visit handed off to the gateway" if pushed else "handoff skipped: sending off")

    def _on_handoff_failed(self, error: BaseException) -> None:
        # The counter can still reopen it on this device's store; nothing else to do.
        log.info("handoff not pushed: %s", type(error).__name__)

    def _pick_up_handoff(self, code: str) -> bool:
        """At a counter, look for a code not on this device among the gateway's handoffs.

        Returns False when that is not possible here (not a counter, sending off).
        """
        keys, device = self.services.keys, self.services.device
        normalized = normalize_reference_code(code)
        if (normalized is None or keys is None or self.sync_worker is None
                or not self._may(Action.TAKE_OVER) or self._picking_up is not None):
            return False
        self._picking_up = normalized
        self.resume_code.show_message(_("Looking for this code at the gateway…"))
        self.tasks.run(pick_up_handoff(device, self.services.store_path, keys, normalized),
                       on_done=self._on_handoff_picked_up, on_error=self._on_pick_up_failed)
        return True

    def _on_handoff_picked_up(self, handoff: Handoff | None) -> None:
        code, self._picking_up = self._picking_up, None
        if self.stack.currentWidget() is not self.resume_code or code is None:
            return  # staff moved on (or the screen locked): the handoff stays at the gateway
        if handoff is None or not isinstance(self.visit, VisitSession):
            self.resume_code.show_message(error_text(DeskError("draft.code_unknown")))
            return
        visit = self.visit
        try:
            visit.take_over_handoff(handoff.procedure_ids, handoff.answers,
                                    source_device=handoff.device_id,
                                    source_draft=handoff.draft_id)
        except DeskError as error:
            log.info("handoff not taken over: %s", error.message_id)
            self.resume_code.show_message(error_text(error))
            return
        log.info("visit taken over from the gateway")
        self._session_active = True
        self._show_position()

    def _on_pick_up_failed(self, error: BaseException) -> None:
        self._picking_up = None
        log.info("handoff pick-up failed: %s", type(error).__name__)
        if self.stack.currentWidget() is not self.resume_code:
            return
        if isinstance(error, RejectedError):  # not found, expired, or not ours to read
            self.resume_code.show_message(error_text(DeskError("draft.code_unknown")))
        else:
            self.resume_code.show_message(_("This code is not on this device, and the gateway "
                                            "cannot be reached now. Please try again later."))

    def _on_sent(self) -> None:
        self._awaiting = None
        self.confirm_timer.stop()
        if self.stack.currentWidget() is self.declaration and self.visit.draft is not None:
            self.declaration.set_busy(False)
            interview = self.visit.interview
            assert interview is not None
            try:
                draft = self.visit.refresh()
            except DeskError as error:
                log.warning("draft cannot be re-read: %s", error.message_id)
                draft = self.visit.draft
            self.confirmation.show_result(draft, interview.documents())
            self._set_page(self.confirmation)
            self.confirmation.next_button.setFocus(Qt.FocusReason.OtherFocusReason)

    def _schedule_retention(self) -> None:
        if self.retention is not None and self.store is not None:
            seconds = self.retention.seconds_until_due(self.services.clock())
            self.retention_timer.start(int(seconds * 1000))

    def _apply_retention_in_background(self) -> None:
        """Shred what the retention policy says is due, off the GUI thread on its own store."""
        keys = self.services.keys
        if self.store is None or keys is None or self.retention is None or self._retaining:
            return
        self._retaining = True
        self.tasks.run(retention_pass(self.services.store_path, keys, self.services.clock()),
                       on_done=self._on_retention_done, on_error=self._on_retention_failed)

    def _on_retention_done(self, report: RetentionReport) -> None:
        log.info("retention: %d draft(s) shredded, %d payload(s) purged", report.total,
                 report.payloads_purged)
        self._retention_ran()

    def _on_retention_failed(self, error: BaseException) -> None:
        # Tried again at the next interval; a failure never stops the app.
        log.warning("retention pass failed: %s", type(error).__name__)
        self._retention_ran()

    def _retention_ran(self) -> None:
        self._retaining = False
        if self.retention is not None:
            self.retention.record_run(self.services.clock())
        self._schedule_retention()

    def _on_language_changed(self, index: int) -> None:
        set_language(self.top_bar.language.itemData(index))
        self.retranslate_ui()
        if self.stack.currentWidget() is self.home:
            self.show_home()

    def _on_text_size_clicked(self, key: str) -> None:
        self.theme.size_key = key
        instance = QApplication.instance()
        if isinstance(instance, QApplication):
            apply_theme(instance, self.theme)
        restyle_tree(self, self.theme)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        """Wipe the screen, wait for background work so the store closes cleanly."""
        self.confirm_timer.stop()
        self.sync_bridge.close()
        if self.sync_worker is not None:
            self.sync_worker.stop(timeout=5.0)  # a daemon thread: it never holds the exit
        self.retention_timer.stop()
        self.countdown.stop()
        self.idle.disarm()
        self._wipe()
        self.tasks.wait(10_000)
        if self.store is not None:
            self.store.close()
        if self._accounts_engine is not None:
            self._accounts_engine.dispose()
        super().closeEvent(event)
