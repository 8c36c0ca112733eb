-- Knowledge-base articles linked to tickets (what helped, what was sent).
CREATE TABLE ticket_articles (
    ticket_id  BIGINT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    article_id BIGINT NOT NULL REFERENCES kb_articles (id) ON DELETE CASCADE,
    linked_by  BIGINT REFERENCES users (id) ON DELETE SET NULL,
    linked_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (ticket_id, article_id)
);
CREATE INDEX ticket_articles_article ON ticket_articles (article_id);
