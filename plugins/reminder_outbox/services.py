"""Queueing reminders in the outbox, and the SMS text they carry.

The text is Vietnamese (the plugin's catalog, whatever the language of the run) written without diacritics
in the GSM 03.38 alphabet, so a message of at most 160 characters is one SMS on every phone and network.
With diacritics the message would need UCS-2, where one SMS holds only 70 characters (67 per part of a
longer one): three paid parts for the same words.
"""
import unicodedata

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select, tuple_

from core.db import db
from modules.warehouse.models import Location
from plugins.reminder_outbox.models import TEXT_LENGTH, ReminderOutboxMessage

SMS_LOCALE = "vi"
# GSM 03.38 basic character set (the characters one septet encodes, no escape needed).
GSM_BASIC = set("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
KEYS_PER_QUERY = 500  # pairs per query: far below the bound parameters SQLite and PostgreSQL accept
MIN_NAME = 12  # a name is shortened to make the text fit, never below this


def queue(reminders):
    """Add a queued message for each reminder with a phone, unless that person already has one for that dose;
    returns the messages added. Part of the caller's transaction."""
    wanted = [reminder for reminder in reminders if reminder.phone]
    if not wanted:
        return []
    existing = queued_keys([(reminder.person_id, reminder.dose_number) for reminder in wanted])
    site_names = {code: name for code, name in db.session.execute(
        select(Location.code, Location.name).where(Location.code.in_({r.site for r in wanted})))}
    added = []
    for reminder in wanted:
        key = (reminder.person_id, reminder.dose_number)
        if key in existing:
            continue
        existing.add(key)
        added.append(ReminderOutboxMessage(
            person_id=reminder.person_id, phone=reminder.phone, dose_number=reminder.dose_number,
            due_on=reminder.due_on, text=sms_text(reminder, site_names.get(reminder.site, reminder.site))))
    db.session.add_all(added)
    return added


def queued_keys(keys):
    """The ``(person_id, dose_number)`` pairs among ``keys`` the outbox already holds (whatever their status)."""
    keys, found = sorted(set(keys)), set()
    for start in range(0, len(keys), KEYS_PER_QUERY):
        chunk = keys[start:start + KEYS_PER_QUERY]
        found.update(tuple(row) for row in db.session.execute(
            select(ReminderOutboxMessage.person_id, ReminderOutboxMessage.dose_number)
            .where(tuple_(ReminderOutboxMessage.person_id, ReminderOutboxMessage.dose_number).in_(chunk))))
    return found


def sms_text(reminder, site_name):
    """The reminder as one SMS: Vietnamese, GSM-7, at most 160 characters (the name is shortened first)."""
    name = reminder.full_name
    while True:
        with force_locale(SMS_LOCALE):
            text = _("%(name)s: dose %(dose)d of %(vaccine)s is due on %(day)s at %(site)s. Please come for it.",
                     name=name, dose=reminder.dose_number, vaccine=reminder.vaccine,
                     day=reminder.due_on.strftime("%d/%m/%Y"), site=site_name)
        text = gsm7(text)
        if len(text) <= TEXT_LENGTH or len(name) <= MIN_NAME:
            return text[:TEXT_LENGTH]
        name = name[:max(MIN_NAME, len(name) - (len(text) - TEXT_LENGTH))].rstrip()


def gsm7(text):
    """``text`` in the GSM 03.38 basic alphabet: Vietnamese diacritics dropped, anything else as "?"."""
    text = text.replace("đ", "d").replace("Đ", "D")
    bare = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    return "".join(c if c in GSM_BASIC else "?" for c in unicodedata.normalize("NFC", bare))
