"""The kiosk window: top bar (progress, language, text size) and the pages of one visit."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QApplication,
    QButtonGroup,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from desk.catalog.model import Catalog
from desk.catalog.text import strip_ruby
from desk.config import DeviceConfig
from desk.errors import DeskError
from desk.policy import Role
from desk.service import Actor, DeskService
from desk.store.drafts import READY, DraftStore, DraftSummary
from desk.store.keys import KeyStore
from desk.visit import VisitSession, mynumber_items
from sync.client import LinkageClient
from sync.mapping import build_payload, payload_to_json
from sync.outbox import DeliveryReport, deliver_due
from ui.catalog_text import plain
from ui.i18n import LANGUAGES, _, set_language
from ui.messages import error_text
from ui.screens.base import Page
from ui.screens.checklist import ChecklistPage
from ui.screens.confirmation import ConfirmationPage
from ui.screens.declaration import DeclarationPage
from ui.screens.home import HomePage
from ui.screens.question import QuestionPage
from ui.screens.review import ReviewPage
from ui.tasks import TaskContext, TaskRunner
from ui.theme import TEXT_SIZES, Theme, apply_theme, restyle_tree
from ui.widgets.buttons import BigButton

log = logging.getLogger(__name__)

RETRY_INTERVAL_MS = 30_000  # how often waiting applications are offered to the gateway again


@dataclass
class Services:
    """What the window needs from the layers below, built once by the app bootstrap."""

    catalog: Catalog
    device: DeviceConfig
    store_path: Path
    keys: KeyStore
    client_factory: Callable[[], LinkageClient] | None

    def actor(self, role: Role = Role.RESIDENT, login: str | None = None) -> Actor:
        """The actor of this device for a role (the kiosk's resident unless signed in)."""
        return Actor(self.device.mode, self.device.desk_id, role, login)


def send_waiting(
    store_path: Path, keys: KeyStore, client_factory: Callable[[], LinkageClient]
) -> Callable[[TaskContext], DeliveryReport]:
    """Build the background task that sends every due application (own store, own client)."""

    def work(context: TaskContext) -> DeliveryReport:
        store = DraftStore(store_path, keys)
        try:
            with client_factory() as client:
                return deliver_due(store, client)
        finally:
            store.close()

    return work


class TopBar(QFrame):
    """Progress on the left; language and text size on the right, on every page."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setProperty("role", "topbar")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(24, 8, 24, 8)
        self.progress = QLabel(self)
        self.progress.setProperty("font_bold", True)
        layout.addWidget(self.progress, 1)
        self.language_label = QLabel(self)
        self.language = QComboBox(self)
        for language in LANGUAGES:
            self.language.addItem(language.native_name, language.code)
        self.language_label.setBuddy(self.language)
        layout.addWidget(self.language_label)
        layout.addWidget(self.language)
        self.size_label = QLabel(self)
        layout.addWidget(self.size_label)
        self.size_group = QButtonGroup(self)
        self.size_buttons: dict[str, BigButton] = {}
        for key in TEXT_SIZES:
            button = BigButton("", self, checkable=True)
            self.size_group.addButton(button)
            self.size_buttons[key] = button
            layout.addWidget(button)
        self.size_buttons["standard"].setChecked(True)
        self.retranslate_ui()

    def retranslate_ui(self) -> None:
        """Texts in the active language."""
        self.language_label.setText(_("Language"))
        self.language.setAccessibleName(_("Language"))
        self.size_label.setText(_("Text size"))
        names = {"standard": _("Standard"), "large": _("Large"), "extra_large": _("Extra large")}
        for key, button in self.size_buttons.items():
            button.setText(names[key])
            button.setAccessibleName(_("Text size: {size}", size=names[key]))


class MainWindow(QMainWindow):
    """One visit at a time: home → questions → check → declaration → confirmation."""

    def __init__(self, services: Services, theme: Theme, tasks: TaskRunner | None = None) -> None:
        super().__init__()
        self.services = services
        self.theme = theme
        self.tasks = tasks or TaskRunner()
        self.store = DraftStore(services.store_path, services.keys)
        recovered = self.store.recover_in_flight()
        if recovered:
            log.info("%d application(s) left in flight go back to the queue", recovered)
        self.service = DeskService(self.store, services.actor(),
                                   mynumber_items(services.catalog))
        self.visit = VisitSession(self.service, services.catalog)
        self._sending = False

        central = QWidget(self)
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        self.top_bar = TopBar(central)
        layout.addWidget(self.top_bar)
        self.stack = QStackedWidget(central)
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)

        self.home = HomePage()
        self.question = QuestionPage()
        self.checklist = ChecklistPage()
        self.review = ReviewPage()
        self.declaration = DeclarationPage()
        self.confirmation = ConfirmationPage()
        for page in self._pages():
            self.stack.addWidget(page)

        self.home.event_clicked.connect(self._on_home_event_clicked)
        self.home.start_clicked.connect(self._on_home_start_clicked)
        self.home.resume_clicked.connect(self._on_home_resume_clicked)
        self.home.discard_clicked.connect(self._on_home_discard_clicked)
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
        self.confirmation.finish_clicked.connect(self._on_confirmation_finish_clicked)
        self.top_bar.language.currentIndexChanged.connect(self._on_language_changed)
        for key, button in self.top_bar.size_buttons.items():
            button.clicked.connect(lambda _=False, k=key: self._on_text_size_clicked(k))

        self.home.show_events(services.catalog.events_in_order())
        self.home.show_procedures([
            p for p in services.catalog.procedures.values()
            if services.device.mode in p.channels
        ])
        self.retry_timer = QTimer(self)
        self.retry_timer.setInterval(RETRY_INTERVAL_MS)
        self.retry_timer.timeout.connect(self._send_waiting_in_background)
        if services.client_factory is not None:
            self.retry_timer.start()
        self.resize(1280, 900)
        self.retranslate_ui()
        self.show_home()

    # -- pages ------------------------------------------------------------------------------

    def retranslate_ui(self) -> None:
        """Every text in the active language; switching never needs a restart."""
        self.setWindowTitle(_("Madoguchi Desk"))
        self.top_bar.retranslate_ui()
        for page in self._pages():
            page.retranslate_ui()
        self._update_progress()
        restyle_tree(self, self.theme)

    def _pages(self) -> tuple[Page, ...]:
        return (self.home, self.question, self.checklist, self.review, self.declaration,
                self.confirmation)

    def show_home(self) -> None:
        """The start page, listing drafts left unfinished on this desk."""
        self.visit.end()
        drafts = self.visit.resumable()
        self.home.show_drafts(drafts, {d.id: self._draft_title(d) for d in drafts})
        restyle_tree(self.home, self.theme)
        self.stack.setCurrentWidget(self.home)
        self._update_progress()

    def _show_position(self) -> None:
        interview = self.visit.interview
        assert interview is not None
        if interview.at_review:
            self._show_review()
            return
        if interview.at_checklist:
            self.checklist.show_checklist(interview.applicable(), interview.documents())
            restyle_tree(self.checklist, self.theme)
            self.stack.setCurrentWidget(self.checklist)
            self._update_progress()
            self.checklist.next_button.setFocus(Qt.FocusReason.OtherFocusReason)
            return
        screen = interview.screen
        assert screen.step is not None
        # Views read the visit's answers; a member's own answers take precedence.
        answers = {**interview.answers, **interview.values_for(screen)}
        self.question.show_step(screen.step, answers, can_go_back=True,
                                unknown=interview.is_unknown(screen))
        restyle_tree(self.question, self.theme)
        self.stack.setCurrentWidget(self.question)
        self._update_progress()

    def _show_review(self) -> None:
        assert self.visit.interview is not None
        self.review.show_interview(self.visit.interview)
        restyle_tree(self.review, self.theme)
        self.stack.setCurrentWidget(self.review)
        self._update_progress()
        self.review.next_button.setFocus(Qt.FocusReason.OtherFocusReason)

    def _update_progress(self) -> None:
        interview = self.visit.interview
        if interview is None or self.stack.currentWidget() is self.home:
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

    # -- slots ------------------------------------------------------------------------------

    def _guard(self, action: Callable[[], object]) -> bool:
        """Run a store action; on failure show the reason and keep everything on screen."""
        try:
            action()
        except DeskError as error:
            log.warning("action failed: %s", error.message_id)
            self.question.show_banner(error_text(error))
            if self.stack.currentWidget() is self.home:
                self.home.intro.setText(error_text(error))
            return False
        return True

    def _draft_title(self, draft: DraftSummary) -> str:
        catalog = self.services.catalog
        if draft.life_event_id:
            return plain(catalog.life_event(draft.life_event_id).title)
        return "、".join(plain(catalog.procedure(p).title) for p in draft.procedure_ids)

    def _on_home_event_clicked(self, event_id: str) -> None:
        if self._guard(lambda: self.visit.start_event(event_id)):
            self._show_position()

    def _on_home_start_clicked(self, procedure_id: str) -> None:
        if self._guard(lambda: self.visit.start(procedure_id)):
            self._show_position()

    def _on_home_resume_clicked(self, draft_id: str) -> None:
        if self._guard(lambda: self.visit.resume(draft_id)):
            self._show_position()

    def _on_home_discard_clicked(self, draft_id: str) -> None:
        if self._guard(lambda: self.service.delete(draft_id)):
            self.show_home()

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
        restyle_tree(self.declaration, self.theme)
        self.stack.setCurrentWidget(self.declaration)
        self.declaration.agree.setFocus(Qt.FocusReason.OtherFocusReason)

    def _on_review_back_clicked(self) -> None:
        if self._guard(self.visit.back):
            self._show_position()

    def _on_declaration_send_clicked(self) -> None:
        interview, draft = self.visit.interview, self.visit.draft
        assert interview is not None and draft is not None
        if draft.status == READY:  # already finalized (a second press): only send again
            self._send_waiting_in_background()
            return
        data = interview.procedure_data()
        payload = build_payload(
            application_id=draft.id,
            procedures=[(p.id, p.form_version, d) for p, d in data],
            device=self.services.device, captured_at=dt.datetime.now(dt.UTC),
            consent_purpose="\n".join(strip_ruby(p.declaration.raw("ja")) for p, _data in data),
        )
        if not self._guard(lambda: self.visit.finalize(payload_to_json(payload))):
            self.declaration.status.setText(self.question.banner.text())
            return
        self.declaration.set_busy(True)
        if not self._send_waiting_in_background():
            self._on_sent(None)

    def _send_waiting_in_background(self) -> bool:
        """Start a send pass off the GUI thread unless one runs; False if sending is off."""
        factory = self.services.client_factory
        if factory is None:
            return False
        if self._sending:
            return True
        self._sending = True
        self.tasks.run(
            send_waiting(self.services.store_path, self.services.keys, factory),
            on_done=self._on_sent, on_error=self._on_send_failed,
        )
        return True

    def _on_sent(self, _report: DeliveryReport | None) -> None:
        self._sending = False
        if self.stack.currentWidget() is self.declaration and self.visit.draft is not None:
            self.declaration.set_busy(False)
            interview = self.visit.interview
            assert interview is not None
            draft = self.visit.refresh()
            self.confirmation.show_result(draft, interview.documents())
            restyle_tree(self.confirmation, self.theme)
            self.stack.setCurrentWidget(self.confirmation)
            self.confirmation.next_button.setFocus(Qt.FocusReason.OtherFocusReason)

    def _on_send_failed(self, error: BaseException) -> None:
        # The application is safe in the outbox; the confirmation shows the reference code.
        log.warning("send pass failed: %s", type(error).__name__)
        self._on_sent(None)

    def _on_confirmation_finish_clicked(self) -> None:
        self.show_home()

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
        """Wait for a running send so the store closes cleanly."""
        self.retry_timer.stop()
        self.tasks.wait(10_000)
        self.store.close()
        super().closeEvent(event)
