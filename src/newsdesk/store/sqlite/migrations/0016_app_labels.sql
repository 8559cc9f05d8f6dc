-- Reader apps (issue 19): when each app password was last used (shown beside it, so a reader
-- can tell which to revoke), and the labels a reader puts on single items.
--
-- `last_used` is written when a password logs in (ClientLogin) and when a process first
-- checks its Auth token or Fever key (then at most every few seconds: the app's user cache),
-- never on every request.
ALTER TABLE app_passwords ADD COLUMN last_used TEXT;

-- A reader's own labels on items (Google Reader `edit-tag a=user/-/label/X`): each reader's,
-- like read and starred; gone with the entry (or the reader). A feed's folder (its group and
-- site) is not one of these: it is the feed's.
CREATE TABLE entry_labels (
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    label TEXT NOT NULL,
    uid TEXT NOT NULL,
    added TEXT NOT NULL,
    PRIMARY KEY (user_id, label, uid)
) WITHOUT ROWID;

CREATE INDEX entry_labels_uid ON entry_labels (uid, user_id);

CREATE TRIGGER entry_labels_gone AFTER DELETE ON entries
BEGIN
    DELETE FROM entry_labels WHERE uid=old.uid;
END;
