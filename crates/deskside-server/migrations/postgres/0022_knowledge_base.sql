-- The knowledge base: articles, their texts per language, and trigram
-- indexes (pg_trgm), which find words in Korean and Japanese too (no
-- spaces between words there) for ILIKE.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE kb_articles (
    id                BIGSERIAL PRIMARY KEY,
    state             TEXT NOT NULL,
    category          TEXT,
    tags              TEXT NOT NULL DEFAULT '[]',
    checks            TEXT NOT NULL DEFAULT '[]',
    ticket_categories TEXT NOT NULL DEFAULT '[]',
    version           BIGINT NOT NULL DEFAULT 1,
    created_by        BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at        TIMESTAMPTZ NOT NULL,
    updated_at        TIMESTAMPTZ NOT NULL
);
CREATE INDEX kb_articles_updated ON kb_articles (updated_at);

CREATE TABLE kb_texts (
    id         BIGSERIAL PRIMARY KEY,
    article_id BIGINT NOT NULL REFERENCES kb_articles (id) ON DELETE CASCADE,
    lang       TEXT NOT NULL,
    title      TEXT NOT NULL,
    body       TEXT NOT NULL,
    UNIQUE (article_id, lang)
);
CREATE INDEX kb_texts_title_trgm ON kb_texts USING gin (title gin_trgm_ops);
CREATE INDEX kb_texts_body_trgm ON kb_texts USING gin (body gin_trgm_ops);
