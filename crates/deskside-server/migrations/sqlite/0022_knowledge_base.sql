-- The knowledge base: articles, their texts per language, and a trigram
-- full-text index (FTS5), which finds words in Korean and Japanese too
-- (no spaces between words there), kept by triggers.
CREATE TABLE kb_articles (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    state             TEXT NOT NULL,
    category          TEXT,
    tags              TEXT NOT NULL DEFAULT '[]',
    checks            TEXT NOT NULL DEFAULT '[]',
    ticket_categories TEXT NOT NULL DEFAULT '[]',
    version           INTEGER NOT NULL DEFAULT 1,
    created_by        INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL
);
CREATE INDEX kb_articles_updated ON kb_articles (updated_at);

CREATE TABLE kb_texts (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    article_id INTEGER NOT NULL REFERENCES kb_articles (id) ON DELETE CASCADE,
    lang       TEXT NOT NULL,
    title      TEXT NOT NULL,
    body       TEXT NOT NULL,
    UNIQUE (article_id, lang)
);

CREATE VIRTUAL TABLE kb_fts USING fts5 (
    title, body, content = 'kb_texts', content_rowid = 'id', tokenize = 'trigram'
);
CREATE TRIGGER kb_texts_ai AFTER INSERT ON kb_texts BEGIN
    INSERT INTO kb_fts (rowid, title, body) VALUES (new.id, new.title, new.body);
END;
CREATE TRIGGER kb_texts_ad AFTER DELETE ON kb_texts BEGIN
    INSERT INTO kb_fts (kb_fts, rowid, title, body) VALUES ('delete', old.id, old.title, old.body);
END;
CREATE TRIGGER kb_texts_au AFTER UPDATE ON kb_texts BEGIN
    INSERT INTO kb_fts (kb_fts, rowid, title, body) VALUES ('delete', old.id, old.title, old.body);
    INSERT INTO kb_fts (rowid, title, body) VALUES (new.id, new.title, new.body);
END;
