-- Events about a device rather than a ticket (enrolled, a check failing or
-- recovered), for webhooks: the device and what happened, as JSON.
ALTER TABLE events ADD COLUMN device_id INTEGER;
ALTER TABLE events ADD COLUMN detail TEXT;
