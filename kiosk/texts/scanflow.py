"""Texts of the shopper's scan flow: the scan screen, the typed-code entry, the welcome
screen with its consent prompt, and the feedback screen's frame. What a refused code
means comes from the scan outcome's own text (``kiosk.i18n``, keyed by the reason);
``scan_next_<outcome>`` adds what to do next where that text does not say it."""

from __future__ import annotations

from . import _t

_NEXT = {
    "expired": _t(
        "Please scan a newer code from a recent email or flyer, or ask a member of staff.",
        "Bitte einen neueren Code aus einer aktuellen E-Mail oder einem Flyer scannen, oder "
        "beim Personal fragen.",
    ),
    "revoked": _t(
        "Please scan a newer code, or ask a member of staff.",
        "Bitte einen neueren Code scannen oder beim Personal fragen.",
    ),
    "already_used": _t(
        "Each code works once. A member of staff can help you.",
        "Jeder Code gilt nur einmal. Das Personal hilft Ihnen gern.",
    ),
    "bad_signature": _t(
        "Please scan the code from our email, letter or flyer.",
        "Bitte den Code aus unserer E-Mail, unserem Brief oder Flyer scannen.",
    ),
    "unknown_key": _t(
        "Please try again later, or ask a member of staff.",
        "Bitte später noch einmal versuchen oder beim Personal fragen.",
    ),
    "wrong_kind": _t(
        "Please ask a member of staff what this code is for.",
        "Bitte beim Personal fragen, wofür dieser Code gilt.",
    ),
    "not_for_this_store": _t(
        "Please take it to the store it names, or ask a member of staff here.",
        "Bitte in der genannten Filiale vorzeigen oder hier beim Personal fragen.",
    ),
    "campaign_not_here": _t(
        "You are welcome to look around, or find a product on this kiosk.",
        "Schauen Sie sich gern um, oder finden Sie ein Produkt an diesem Terminal.",
    ),
    "campaign_ended": _t(
        "Look out for our next offer, or find a product on this kiosk.",
        "Achten Sie auf unser nächstes Angebot, oder finden Sie ein Produkt an diesem Terminal.",
    ),
    "pickup": _t(
        "Please show it to a member of staff at the pickup desk: they hand over your order.",
        "Bitte beim Personal an der Abholtheke vorzeigen: dort erhalten Sie Ihre Bestellung.",
    ),
}

TEXTS = {
    # scan screen
    "scan_hold": _t("Hold your code in the frame", "Halten Sie Ihren Code in den Rahmen"),
    "scan_hint": _t(
        "Codes from our emails, letters and flyers work here.",
        "Codes aus unseren E-Mails, Briefen und Flyern funktionieren hier.",
    ),
    "scan_got_it": _t("Got it", "Erkannt"),
    "scan_checking": _t("Checking your code …", "Ihr Code wird geprüft …"),
    "scan_again": _t("Scan again", "Erneut scannen"),
    "scan_type": _t("Type the code", "Code eintippen"),
    "scan_type_title": _t("Type the code", "Code eintippen"),
    "scan_type_hint": _t(
        "The 12 characters printed under the QR code.",
        "Die 12 Zeichen, die unter dem QR-Code stehen.",
    ),
    "scan_type_check": _t("Check code", "Code prüfen"),
    "scan_erase": _t("Delete", "Löschen"),
    "scan_camera_off": _t(
        "The camera is not working right now. Please type the code printed under the QR "
        "code, or ask a member of staff.",
        "Die Kamera funktioniert gerade nicht. Bitte den Code unter dem QR-Code eintippen "
        "oder beim Personal fragen.",
    ),
    "scan_starting": _t("Starting the camera …", "Kamera wird gestartet …"),
    "scan_done": _t("Done", "Fertig"),
    # welcome screen
    "welcome_back": _t("Welcome back!", "Willkommen zurück!"),
    "welcome_hello": _t("Welcome!", "Willkommen!"),
    "welcome_checked_in": _t(
        "You are checked in. Enjoy your visit.",
        "Sie sind angemeldet. Viel Freude bei Ihrem Besuch.",
    ),
    "welcome_consent_question": _t(
        "May we use this visit to tailor our offers to you?",
        "Dürfen wir diesen Besuch nutzen, um unsere Angebote auf Sie abzustimmen?",
    ),
    "welcome_consent_yes": _t("Yes", "Ja"),
    "welcome_consent_no": _t("No", "Nein"),
    "welcome_consent_thanks_yes": _t(
        "Thank you. You can change this at any time.",
        "Danke. Sie können das jederzeit ändern.",
    ),
    "welcome_consent_thanks_no": _t(
        "All right, we will not use this visit for offers.",
        "In Ordnung, wir nutzen diesen Besuch nicht für Angebote.",
    ),
    "welcome_find": _t("Find a product", "Produkt finden"),
    "welcome_done": _t("Done", "Fertig"),
    # feedback screen
    "fb_skip": _t("Skip", "Überspringen"),
    "fb_hint": _t(
        "One tap is enough. It helps this store.", "Ein Tipp genügt. Das hilft dieser Filiale."
    ),
    "fb_no_thanks": _t("No thanks", "Nein, danke"),
    "fb_reason_question": _t("What stood out? (optional)", "Was ist Ihnen aufgefallen? (optional)"),
}
TEXTS |= {f"scan_next_{k}": v for k, v in _NEXT.items()}
