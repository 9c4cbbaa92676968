"""Texts of the staff screens: the PIN prompt, the staff menu, the pickup desk and the
device status page (the controllers' own texts are in ``kiosk/ui_texts.py``)."""

from __future__ import annotations

from . import _t

TEXTS = {
    "staff_pin_title": _t("Staff only", "Nur für Personal"),
    "staff_who": _t("Who is unlocking?", "Wer entsperrt?"),
    "staff_pin_for": _t("PIN for {name}", "PIN für {name}"),
    "staff_pin_enter": _t("Enter your staff PIN.", "Bitte Personal-PIN eingeben."),
    "staff_not_you": _t("Someone else", "Jemand anderes"),
    "staff_ok": _t("Unlock", "Entsperren"),
    "staff_delete": _t("Delete", "Löschen"),
    "staff_checking": _t("Checking…", "Wird geprüft…"),
    "staff_cancel": _t("Cancel", "Abbrechen"),
    "staff_menu_title": _t("Staff: {name}", "Personal: {name}"),
    "staff_menu_pickup": _t("Pickup desk", "Abholung"),
    "staff_menu_status": _t("Device status", "Gerätestatus"),
    "staff_menu_exit": _t("Exit kiosk", "Kiosk beenden"),
    "staff_exit_again": _t("Tap again to exit the kiosk", "Zum Beenden erneut tippen"),
    "staff_lock": _t("Lock and leave", "Sperren und verlassen"),
    "staff_menu": _t("Menu", "Menü"),
    "staff_desk_title": _t("Pickup desk · {name}", "Abholung · {name}"),
    "staff_desk_hint": _t(
        "Hold the customer's pickup code in the frame, or type the order id.",
        "Abholcode der Kundin oder des Kunden in den Rahmen halten oder Bestellnummer eintippen.",
    ),
    "staff_camera_none_title": _t("No camera on this kiosk", "Keine Kamera an diesem Kiosk"),
    "staff_camera_off_title": _t("Camera not working", "Kamera funktioniert nicht"),
    "staff_camera_none": _t(
        "This kiosk has no camera: scan the pickup code with the hand scanner, or type "
        "the order id.",
        "Dieses Terminal hat keine Kamera: Abholcode mit dem Handscanner scannen oder "
        "Bestellnummer eintippen.",
    ),
    "staff_camera_off": _t(
        "The camera is not working right now: scan the pickup code with the hand scanner, "
        "or type the order id.",
        "Die Kamera funktioniert gerade nicht: Abholcode mit dem Handscanner scannen oder "
        "Bestellnummer eintippen.",
    ),
    "staff_order_field": _t("Order id, e.g. o-1234abcd", "Bestellnummer, z. B. o-1234abcd"),
    "staff_find": _t("Find order", "Bestellung suchen"),
    "staff_hand_over": _t("Hand over", "Aushändigen"),
    "staff_refuse": _t("Refuse…", "Ablehnen…"),
    "staff_refuse_title": _t("Why not hand it over?", "Warum nicht aushändigen?"),
    "staff_back_order": _t("Back to the order", "Zurück zur Bestellung"),
    "staff_back_desk": _t("Back to the desk", "Zurück zur Abholung"),
    "staff_next": _t("Next order", "Nächste Bestellung"),
    "staff_feedback": _t("Customer feedback", "Kundenfeedback"),
    "status_title": _t("Device status", "Gerätestatus"),
    "status_all_well": _t(
        "All is well: nothing needs attention.", "Alles in Ordnung: nichts zu tun."
    ),
}
