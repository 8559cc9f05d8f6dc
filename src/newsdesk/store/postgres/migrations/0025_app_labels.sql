-- SQLite's 0016 in PostgreSQL: when each app password was last used, and the labels a reader
-- puts on single items (Google Reader `edit-tag a=user/-/label/X`), gone with the entry.
ALTER TABLE app_passwords ADD COLUMN last_used text COLLATE "C";

CREATE TABLE entry_labels (
    user_id bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    label text COLLATE "C" NOT NULL,
    uid text COLLATE "C" NOT NULL,
    added text COLLATE "C" NOT NULL,
    PRIMARY KEY (user_id, label, uid)
);

CREATE INDEX entry_labels_uid ON entry_labels (uid, user_id);

CREATE FUNCTION entry_labels_gone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM entry_labels WHERE uid = OLD.uid;
    RETURN NULL;
END $$;

CREATE TRIGGER entry_labels_gone AFTER DELETE ON entries FOR EACH ROW EXECUTE FUNCTION entry_labels_gone();
