-- API tokens created in the console carry a name saying what uses them
-- ("monitoring", "ci export"), so that the right one gets revoked.
ALTER TABLE api_tokens ADD COLUMN label TEXT;
