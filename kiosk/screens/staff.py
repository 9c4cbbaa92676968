"""The staff screens behind the hidden gesture (``kiosk.gesture``): the PIN prompt (who
first, when several staff may unlock), the staff menu (pickup desk, device status, exit
the kiosk), and the pickup desk: find the order by its code or its id, hand it over or
refuse it, then ask the customer for feedback or take the next order.

It binds to ``PickupController``; which panel shows follows the controller's step,
plus two choices of this screen's own (the menu or the desk while unlocked; the order
or its refusal reasons). The PIN is checked in a worker thread (about 40 ms a hash)
with the OK key saying "Checking…" at once. The customer's code (``scanned``) comes
from the kiosk's camera while the desk panel shows (``staff_camera.DeskCamera``), or
from a scanner that types like a keyboard (the usual USB hand scanner: its text, ended
by Enter) on the desk, the order and the result.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.core.window import Window
from kivy.properties import BooleanProperty, ListProperty, StringProperty

from edge_sync.pickups.orders import ORDER_ID_RE

from ..controllers.pickup import PickupStep
from .base import BaseScreen
from .staff_camera import DeskCamera
from .staff_panels import DELETE, PANELS, StaffPanel

log = logging.getLogger(__name__)

ID_MAX = 64
ENTER_KEYS = (13, 271)  # Return, keypad Enter


class StaffScreen(BaseScreen):
    screen_name = "staff"

    #: which panel shows: who / pin / menu / desk / order / refuse / done
    mode = StringProperty("pin")
    staff_name = StringProperty("")
    pin_mask = StringProperty("")
    pin_for = StringProperty("")
    checking = BooleanProperty(False)
    message = StringProperty("")
    problem = BooleanProperty(False)
    #: the done panel shows a recorded handover (its big tick), not a refusal or a failure
    handed = BooleanProperty(False)
    typed = StringProperty("")
    #: [(staff id, name)] for the who panel
    names = ListProperty([])
    order_title = StringProperty("")
    items_text = StringProperty("")
    #: ["2× Wool socks", …]
    lines = ListProperty([])
    #: [(reason, what the button says)]
    reasons = ListProperty([])
    exit_armed = BooleanProperty(False)
    can_feedback = BooleanProperty(False)
    #: why the desk's camera does not scan (an i18n key), "" while it does
    camera_problem = StringProperty("")

    shot_extras = ("desk",)

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self._desk_view = "menu"  # while unlocked: the menu or the desk
        self._refusing = False
        self._last_order: str | None = None
        self._wedge = ""
        self._panels: dict[str, StaffPanel] = {}
        self.desk_camera = DeskCamera(
            self._camera_read, lambda key: setattr(self, "camera_problem", key)
        )
        #: a screenshot's panel over the locked desk (``shot_extra``), and its staff name
        self._shot: tuple[str, str] | None = None
        c = self.controllers
        self.listen(c.pickup, c.session)
        self._unsubscribe.append(c.pickup.subscribe(self._on_pickup))
        self._leave_soon = Clock.create_trigger(lambda _dt: self._leave_if_locked())
        Window.bind(on_textinput=self._on_textinput, on_key_down=self._on_key_down)

    def dispose(self) -> None:
        self.desk_camera.stop()
        Window.unbind(on_textinput=self._on_textinput, on_key_down=self._on_key_down)
        self._panels.clear()
        self._leave_soon.cancel()
        super().dispose()

    # -- the gesture ---------------------------------------------------------------------

    def open_staff(self) -> None:
        """The hidden gesture (``kiosk.gesture``, laid over every screen by the app):
        the PIN prompt, or the menu while the desk is unlocked."""
        c = self.controllers
        c.session.close_keyboard()
        c.session.close_dialog()
        c.pickup.start()
        self._desk_view, self._refusing, self.exit_armed = "menu", False, False
        self._shot = None
        self.go("staff")
        self.refresh()

    # -- drawing -------------------------------------------------------------------------

    def refresh(self) -> None:
        if self.manager is not None and self.manager.current != self.name:
            return  # drawn when shown: a hidden page reads nothing
        p = self.controllers.pickup
        self.lang = self.controllers.session.lang
        self.staff_name = p.staff.name if p.staff else ""
        self.pin_mask = p.pin_mask
        self.checking = p.checking
        self.pin_for = p.chosen[1] if p.chosen else ""
        self.message = p.message() or ""
        self.problem = p.message_is_problem()
        self.handed = p.handed_over()
        view = p.order_view()
        self.order_title = view.title if view else ""
        self.items_text = view.items_text if view else ""
        self.lines = [(ln.text, ln.sku) for ln in view.lines] if view else []
        self.reasons = p.refuse_reasons()
        self.can_feedback = "feedback" in self._screen_names() and self._last_order is not None
        mode = self._mode(p.step)
        if self._shot is not None and p.step in (PickupStep.PIN, PickupStep.LOCKED):
            mode, self.staff_name = self._shot
        self._show(mode)

    def _mode(self, step: PickupStep) -> str:
        if step in (PickupStep.PIN, PickupStep.LOCKED):
            self.names = self.controllers.pickup.staff_list()
            chosen = self.controllers.pickup.chosen
            return "who" if len(self.names) > 1 and chosen is None else "pin"
        if step is PickupStep.READY:
            return self._desk_view
        if step is PickupStep.ORDER:
            return "refuse" if self._refusing else "order"
        return "done"

    def _show(self, mode: str) -> None:
        if mode == self.mode and self.ids.body.children:
            return
        self.mode = mode
        if mode not in self._panels:
            self._panels[mode] = PANELS[mode](screen=self)
        self.ids.body.clear_widgets()
        self.ids.body.add_widget(self._panels[mode])
        self._scan(mode == "desk")

    def _screen_names(self) -> list[str]:
        return list(App.get_running_app().screen_names)

    def on_pre_enter(self, *_a: Any) -> None:
        super().on_pre_enter()
        self._scan(self.mode == "desk")

    def on_pre_leave(self, *_a: Any) -> None:
        self._shot = None
        self._scan(False)

    def _scan(self, on: bool) -> None:
        """The camera scans while the desk panel shows, and is let go otherwise."""
        if on and "desk" in self._panels:
            self.desk_camera.start(
                self.controllers.settings.camera, self._panels["desk"].ids.preview
            )
        else:
            self.desk_camera.stop()

    def _on_pickup(self, what: str) -> None:
        # a locked desk (by staff, the idle timer or a reset) leaves no staff screen up
        if what == "step" and self.controllers.pickup.step is PickupStep.LOCKED:
            self.desk_camera.forget()
            self._leave_soon()

    def _leave_if_locked(self) -> None:
        manager = App.get_running_app().manager
        if self.controllers.pickup.step is PickupStep.LOCKED and manager.current in (
            "staff",
            "status",
        ):
            self.go("home")

    # -- the PIN -------------------------------------------------------------------------

    def choose(self, staff_id: str | None) -> None:
        self.controllers.pickup.choose_staff(staff_id)

    def digit(self, d: str) -> None:
        self.controllers.pickup.digit(d)

    def backspace(self) -> None:
        self.controllers.pickup.backspace()

    def submit_pin(self) -> None:
        """Check the PIN away from the UI thread; the pad shows "Checking…" at once."""
        p = self.controllers.pickup
        check = p.begin_pin_check()
        if check is None:
            return
        self.checking = True

        def work() -> None:
            result = p.run_pin_check(check)
            Clock.schedule_once(lambda _dt: self._pin_checked(check, result))

        threading.Thread(target=work, name="staff-pin", daemon=True).start()

    def _pin_checked(self, check: Any, result: Any) -> None:
        if self.controllers.pickup.finish_pin_check(check, result):
            self._desk_view = "menu"
        self.refresh()

    def cancel(self) -> None:
        """Leave the staff screens: the desk locks, and the next shopper sees home."""
        self.controllers.session.reset("staff")

    # -- the menu ------------------------------------------------------------------------

    def show_desk(self) -> None:
        self.controllers.session.touch()
        self._desk_view, self.exit_armed = "desk", False
        self.controllers.pickup.back()
        self.refresh()

    def show_menu(self) -> None:
        self.controllers.session.touch()
        self._desk_view, self.exit_armed = "menu", False
        self.desk_camera.left_order()
        self.controllers.pickup.back()
        self.refresh()

    def show_status(self) -> None:
        self.exit_armed = False
        self.go("status")

    def exit_kiosk(self) -> None:
        """Staff only (the menu shows after the PIN): a second tap stops the app."""
        p = self.controllers.pickup
        if p.staff is None or not p.staff.active():
            self.controllers.pickup.lock("staff_locked_idle")
            return
        if not self.exit_armed:
            self.exit_armed = True
            return
        log.info("the kiosk was exited by staff %s", p.staff.staff_id)
        self.controllers.session.reset("shutdown")
        App.get_running_app().stop()

    # -- the desk ------------------------------------------------------------------------

    def key(self, ch: str) -> None:
        self.controllers.session.touch()
        if ch == DELETE:
            self.typed = self.typed[:-1]
        elif len(self.typed) < ID_MAX:
            self.typed += ch
        self._touch_staff()

    def find(self) -> None:
        typed, self.typed = self.typed.strip(), ""
        if typed:
            self._last_order = None
            self.desk_camera.opened(None)
            self.desk_camera.refused(False)
            self.controllers.pickup.type_order_id(typed)

    def scanned(self, text: str) -> None:
        """A code read by the scanner (or pasted): the customer's pickup code; a plain
        order id typed on a keyboard is looked up instead."""
        p = self.controllers.pickup
        text = text.strip()
        if not text or p.step not in (PickupStep.READY, PickupStep.ORDER, PickupStep.DONE):
            return
        self._desk_view, self._refusing, self._last_order = "desk", False, None
        self.desk_camera.opened(None)
        self.desk_camera.refused(False)
        if not p.scan(text) and ORDER_ID_RE.match(text) and len(text) <= 24:
            p.type_order_id(text)

    def _camera_read(self, text: str) -> None:
        if self.mode != "desk" or self._shot is not None:
            return
        self.scanned(text)
        if self.controllers.pickup.step is PickupStep.ORDER:
            self.desk_camera.opened(text)
        else:
            self.desk_camera.refused(self.controllers.pickup.message_is_problem())

    def hand_over(self) -> None:
        p = self.controllers.pickup
        order_id = p.order.order_id if p.order else None
        if p.confirm():
            self._last_order = order_id
            self.desk_camera.opened(None)  # handed over: a second read says so

    def ask_refuse(self, on: bool = True) -> None:
        self.controllers.session.touch()
        self._refusing = on
        self.refresh()

    def refuse(self, reason: str) -> None:
        self._refusing, self._last_order = False, None
        self.controllers.pickup.refuse(reason)

    def next_order(self) -> None:
        self.desk_camera.left_order()
        self._desk_view, self._refusing, self._last_order = "desk", False, None
        self.controllers.pickup.next_order()
        self.refresh()

    def feedback(self) -> None:
        """The customer rates the pickup; the desk locks first, so nothing of it stays
        open behind the feedback screen."""
        order_id, self._last_order = self._last_order, None
        c = self.controllers
        c.feedback.begin("pickup", order_id=order_id)
        self.go("feedback")
        c.pickup.lock()

    def _touch_staff(self) -> None:
        staff = self.controllers.pickup.staff
        if staff is not None and staff.active():
            staff.touch()

    # -- a keyboard-like scanner ---------------------------------------------------------

    def _desk_open(self) -> bool:
        manager = App.get_running_app().manager
        return manager.current == "staff" and self.mode in ("desk", "order", "done")

    def _on_textinput(self, _window: Any, text: str) -> None:
        if self._desk_open():
            self._wedge = (self._wedge + text)[-4096:]

    def _on_key_down(self, _window: Any, key: int, *_a: Any) -> bool:
        if key in ENTER_KEYS and self._desk_open() and self._wedge:
            text, self._wedge = self._wedge, ""
            self.scanned(text)
            return True
        return False

    # -- screenshots ---------------------------------------------------------------------

    def shot_state(self) -> None:
        """The PIN pad with the first staff member chosen and two digits typed."""
        p = self.controllers.pickup
        p.lock()
        p.start()
        names = p.staff_list()
        if names:
            p.choose_staff(names[0][0])
        p.digit("4")
        p.digit("0")
        self._desk_view, self._refusing = "menu", False

    def shot_extra(self, name: str) -> None:
        """``desk``: the pickup desk as staff first see it, its camera running, drawn over
        the locked desk: no one is unlocked, so nothing on it acts."""
        p = self.controllers.pickup
        p.lock()
        p.start()
        names = p.staff_list()
        self._shot = (name, names[0][1] if names else "")
