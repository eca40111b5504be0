-- url: the release's page (html_url).
SELECT
    CAST(id AS BIGINT) AS release_id,
    tag_name,
    name AS release_name,
    body,
    timezone('UTC', created_at) AS created_at,
    timezone('UTC', published_at) AS published_at,
    html_url AS url
FROM raw_github.releases
