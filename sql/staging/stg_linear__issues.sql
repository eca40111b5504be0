SELECT
    id AS issue_id,
    identifier,
    title,
    description,
    CAST(priority AS INTEGER) AS priority,
    state__name AS state_name,
    state__type AS state_type,
    team__key AS team_key,
    list_transform(from_json(coalesce(labels__nodes, '[]'), '[{"name": "VARCHAR"}]'),
                   lambda l: l.name) AS labels,
    timezone('UTC', created_at) AS created_at,
    timezone('UTC', updated_at) AS updated_at,
    timezone('UTC', completed_at) AS completed_at,
    timezone('UTC', canceled_at) AS canceled_at,
    url
FROM raw_linear.issues
