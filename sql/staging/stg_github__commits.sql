-- files: the filenames of the commit (from GET /commits/{sha}); url: the commit's page.
SELECT
    sha,
    commit__message AS message,
    timezone('UTC', commit__committer__date) AS committed_at,
    list_transform(from_json(coalesce(files, '[]'), '[{"filename": "VARCHAR"}]'),
                   lambda f: f.filename) AS files,
    html_url AS url
FROM raw_github.commits
