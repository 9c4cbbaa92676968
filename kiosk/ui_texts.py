"""The controllers' texts (``kiosk.i18n`` merges them into ``TEXTS``): ``{name}`` fields
are filled in by ``controllers.words.say``. Every key has English and German, with the
same fields in both (a test checks)."""

from __future__ import annotations


def _t(en: str, de: str) -> dict[str, str]:
    return {"en": en, "de": de}


_REFUSE = {
    "id_mismatch": _t("ID does not match", "Ausweis passt nicht"),
    "not_ready": _t("Order not ready", "Bestellung nicht bereit"),
    "already_collected": _t("Already collected", "Schon abgeholt"),
    "customer_absent": _t("Customer not here", "Kunde nicht anwesend"),
    "damaged": _t("Goods damaged", "Ware beschädigt"),
    "other": _t("Other reason", "Anderer Grund"),
}

_REFUSAL = {
    "not_a_pickup_code": _t(
        "This is not a pickup code. Ask the customer for the code in their "
        '"ready for pickup" email.',
        'Das ist kein Abholcode. Bitte nach dem Code aus der E-Mail "Bereit zur Abholung" fragen.',
    ),
    "invalid_code": _t(
        "This pickup code cannot be used. Type the order id instead.",
        "Dieser Abholcode ist nicht verwendbar. Bitte die Bestellnummer eintippen.",
    ),
    "wrong_store": _t(
        "Order {order} is waiting at another store, not this one.",
        "Bestellung {order} liegt in einer anderen Filiale, nicht in dieser.",
    ),
    "expired": _t(
        "This pickup code has expired. Ask the back office about order {order}.",
        "Dieser Abholcode ist abgelaufen. Bitte im Backoffice nach Bestellung {order} fragen.",
    ),
    "not_yet_valid": _t(
        "This pickup code is not valid yet.", "Dieser Abholcode ist noch nicht gültig."
    ),
    "unknown_order": _t(
        "Order {order} is not on this store's pickup list. Check the device status, or "
        "look it up in the back office.",
        "Bestellung {order} steht nicht auf der Abholliste dieser Filiale. Bitte den "
        "Gerätestatus prüfen oder im Backoffice nachsehen.",
    ),
    "not_ready": _t(
        "Order {order} is not ready for pickup yet.",
        "Bestellung {order} ist noch nicht abholbereit.",
    ),
    "cancelled": _t(
        "Order {order} was cancelled: do not hand it over.",
        "Bestellung {order} wurde storniert: bitte nicht aushändigen.",
    ),
    "no_show": _t(
        "Order {order} was not collected in time. Ask the back office first.",
        "Bestellung {order} wurde nicht rechtzeitig abgeholt. Bitte zuerst im Backoffice fragen.",
    ),
    "withdrawn": _t(
        "Order {order} is no longer on this store's list. Ask the back office.",
        "Bestellung {order} steht nicht mehr auf der Liste dieser Filiale. Bitte im "
        "Backoffice fragen.",
    ),
    "past_collect_by": _t(
        "Order {order} is past its pickup date and no longer held here. Ask the back office.",
        "Die Abholfrist für Bestellung {order} ist vorbei; sie liegt hier nicht mehr. Bitte "
        "im Backoffice fragen.",
    ),
    "code_replaced": _t(
        'This code was replaced by a newer one: ask for the code in the latest "ready for '
        'pickup" email.',
        "Dieser Code wurde durch einen neueren ersetzt: bitte nach dem Code aus der letzten "
        'E-Mail "Bereit zur Abholung" fragen.',
    ),
    "already_handed_over": _t(
        "Order {order} was already handed over. Do not hand it over again.",
        "Bestellung {order} wurde bereits ausgehändigt. Bitte nicht noch einmal aushändigen.",
    ),
    "session_ended": _t(
        "The staff session has ended: unlock with your PIN again.",
        "Die Mitarbeitersitzung ist beendet: bitte erneut mit der PIN entsperren.",
    ),
}

_FEEDBACK_REASONS = {
    "waited_long": _t("I had to wait", "Ich musste warten"),
    "item_missing": _t("Something was missing", "Etwas hat gefehlt"),
    "kiosk_hard": _t("The kiosk was hard to use", "Das Terminal war schwer zu bedienen"),
    "quick": _t("Quick and easy", "Schnell und einfach"),
    "staff_helpful": _t("Helpful staff", "Hilfsbereites Personal"),
    "good_offer": _t("A good offer", "Ein gutes Angebot"),
}

_RATINGS = {
    1: _t("Very bad", "Sehr schlecht"),
    2: _t("Bad", "Schlecht"),
    3: _t("Okay", "Mittel"),
    4: _t("Good", "Gut"),
    5: _t("Very good", "Sehr gut"),
}

UI_TEXTS: dict[str, dict[str, str]] = {
    # times
    "ago_now": _t("just now", "gerade eben"),
    "ago_min": _t("{n} min ago", "vor {n} Min."),
    "ago_hour": _t("{n} hour ago", "vor {n} Stunde"),
    "ago_hours": _t("{n} hours ago", "vor {n} Stunden"),
    "ago_day": _t("{n} day ago", "vor {n} Tag"),
    "ago_days": _t("{n} days ago", "vor {n} Tagen"),
    "at_time": _t("at {time}", "um {time}"),
    "on_day_at_time": _t("on {day} at {time}", "am {day} um {time}"),
    # session
    "still_there": _t(
        "Still there? Touch the screen to continue. Starting over in {n} s.",
        "Sind Sie noch da? Bitte den Bildschirm berühren. Neustart in {n} s.",
    ),
    # home
    "home_scan": _t("Scan your code", "Code scannen"),
    "home_search": _t("Find a product", "Produkt finden"),
    "home_fallback": _t(
        "Scan the code from our email or flyer, or find a product in this store.",
        "Scannen Sie den Code aus unserer E-Mail oder unserem Flyer, oder finden Sie ein "
        "Produkt in dieser Filiale.",
    ),
    "offer_valid_until": _t("Valid until {day}", "Gültig bis {day}"),
    # search and product
    "search_hint": _t(
        "Type a product name, a brand or a number.",
        "Produktname, Marke oder Nummer eingeben.",
    ),
    "search_none": _t(
        "Nothing found for “{query}”. Try fewer or other words.",
        "Nichts gefunden für „{query}“. Weniger oder andere Wörter versuchen.",
    ),
    "search_corrected": _t("Showing results for: {words}", "Ergebnisse für: {words}"),
    "stock_in": _t("In stock", "Auf Lager"),
    "stock_low": _t("Only a few left", "Nur noch wenige"),
    "stock_count": _t("{n} in stock", "{n} auf Lager"),
    "stock_out_here": _t("Not in this store right now", "Derzeit nicht in dieser Filiale"),
    "stock_out_there": _t("Not available there", "Dort nicht vorrätig"),
    # a result out here: where the nearest store nearby has it
    "stock_in_nearby": _t("In stock at {store}, {distance}", "Auf Lager in {store}, {distance}"),
    "stock_low_nearby": _t(
        "A few left at {store}, {distance}", "Nur noch wenige in {store}, {distance}"
    ),
    "stock_not_listed": _t("Not sold in this store", "In dieser Filiale nicht im Sortiment"),
    "fresh_recent": _t("Updated {ago}", "Aktualisiert {ago}"),
    "fresh_stale": _t(
        "Data from {ago} — may be out of date",
        "Stand {ago} — möglicherweise nicht aktuell",
    ),
    "fresh_unknown": _t("Stock data not available yet", "Noch keine Bestandsdaten vorhanden"),
    # staff pickup
    "pin_wrong": _t("Wrong PIN. {n} tries left.", "Falsche PIN. Noch {n} Versuche."),
    "pin_wrong_one": _t("Wrong PIN. {n} try left.", "Falsche PIN. Noch {n} Versuch."),
    "pin_locked": _t(
        "Too many wrong PINs. Try again in {n} s.",
        "Zu viele falsche PINs. Erneut versuchen in {n} s.",
    ),
    "pin_again": _t("Enter your PIN.", "Bitte PIN eingeben."),
    "staff_hello": _t(
        "Hello {name}. Scan the customer's pickup code, or type the order id.",
        "Hallo {name}. Abholcode der Kundin oder des Kunden scannen, oder Bestellnummer eintippen.",
    ),
    "staff_locked_idle": _t(
        "The desk locked itself after a while without use. Enter your PIN again.",
        "Der Abholplatz hat sich nach einer Weile ohne Nutzung gesperrt. Bitte PIN erneut "
        "eingeben.",
    ),
    "order_title": _t("Order {order}", "Bestellung {order}"),
    "order_line": _t("{n}× {name}", "{n}× {name}"),
    "order_item": _t("{n} item", "{n} Artikel"),
    "order_items": _t("{n} items", "{n} Artikel"),
    "handed_over": _t(
        "Order {order} is handed over. Thank you!",
        "Bestellung {order} ist ausgehändigt. Danke!",
    ),
    "refused_recorded": _t(
        "Refusal recorded. Order {order} stays waiting for the customer.",
        "Ablehnung gespeichert. Bestellung {order} bleibt für die Abholung liegen.",
    ),
    "handover_not_saved": _t(
        "This kiosk cannot save that right now, so nothing was recorded for order {order}. "
        "Please try again, or use the back office.",
        "Dieses Terminal kann das gerade nicht speichern; für Bestellung {order} wurde "
        "nichts erfasst. Bitte erneut versuchen oder das Backoffice nutzen.",
    ),
    "already_by": _t(
        "Order {order} was already handed over {when} by {name}. Do not hand it over again.",
        "Bestellung {order} wurde bereits {when} von {name} ausgehändigt. Bitte nicht noch "
        "einmal aushändigen.",
    ),
    "already_central": _t(
        "Order {order} was already handed over {when} at another till. Do not hand it over again.",
        "Bestellung {order} wurde bereits {when} an einer anderen Kasse ausgehändigt. Bitte "
        "nicht noch einmal aushändigen.",
    ),
    # device status
    "strip_online": _t("Online", "Online"),
    "strip_online_synced": _t("Online · synced {time}", "Online · synchronisiert {time}"),
    "strip_syncing": _t("Online · sending {n} events", "Online · sende {n} Ereignisse"),
    "strip_syncing_one": _t("Online · sending 1 event", "Online · sende 1 Ereignis"),
    "strip_offline": _t(
        "Offline since {time} — everything you do is saved",
        "Offline seit {time} — alles wird gespeichert",
    ),
    "problem_waiting": _t(
        "{n} events waiting since {time} — central cannot be reached",
        "{n} Ereignisse warten seit {time} — Zentrale nicht erreichbar",
    ),
    "problem_offline": _t("No connection to central", "Keine Verbindung zur Zentrale"),
    "problem_daemon": _t(
        "The sync service is not running: everything is kept here until it starts again",
        "Der Sync-Dienst läuft nicht: alles bleibt hier gespeichert, bis er wieder startet",
    ),
    "problem_dead": _t(
        "{n} events were refused by central (dead letters)",
        "{n} Ereignisse wurden von der Zentrale abgewiesen (Dead Letters)",
    ),
    "problem_store_data": _t(
        "Store data could not be updated: {error}",
        "Filialdaten konnten nicht aktualisiert werden: {error}",
    ),
    "problem_db_recovered": _t(
        "The local database was repaired after damage",
        "Die lokale Datenbank wurde nach einem Schaden repariert",
    ),
    "value_unknown": _t("not known yet", "noch unbekannt"),
    "n_events": _t("{n} events", "{n} Ereignisse"),
    "n_events_one": _t("1 event", "1 Ereignis"),
    "row_problem": _t("Needs attention", "Bitte beachten"),
    "row_store": _t("Store", "Filiale"),
    "row_device": _t("Device", "Gerät"),
    "row_connectivity": _t("Connection", "Verbindung"),
    "row_outbox": _t("Waiting to send", "Wartet auf Versand"),
    "row_oldest": _t("Oldest unsent event", "Ältestes nicht gesendetes Ereignis"),
    "row_last_sync": _t("Last sync", "Letzte Synchronisierung"),
    "row_dead": _t("Dead letters", "Dead Letters (abgewiesen)"),
    "row_version_catalog": _t("Catalog version", "Katalogversion"),
    "row_version_keys": _t("Keys issued", "Schlüssel ausgestellt"),
    "row_version_campaigns": _t("Campaign list", "Kampagnenliste"),
    "row_version_config": _t("Config version", "Konfigurationsversion"),
    "row_software": _t("Software version", "Softwareversion"),
    # feedback
    "feedback_question_pickup": _t("How was your pickup today?", "Wie war Ihre Abholung heute?"),
    "feedback_question_visit": _t(
        "How is your visit today?", "Wie gefällt Ihnen Ihr Besuch heute?"
    ),
    "feedback_thanks": _t("Thank you!", "Vielen Dank!"),
}
UI_TEXTS |= {f"refuse_{k}": v for k, v in _REFUSE.items()}
UI_TEXTS |= {f"refusal_{k}": v for k, v in _REFUSAL.items()}
UI_TEXTS |= {f"reason_{k}": v for k, v in _FEEDBACK_REASONS.items()}
UI_TEXTS |= {f"rating_{k}": v for k, v in _RATINGS.items()}
