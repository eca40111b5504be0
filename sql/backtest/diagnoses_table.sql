-- backtest.diagnoses when the window has no diagnosed ticket: the columns the outcomes read.
CREATE OR REPLACE TABLE backtest.diagnoses (
    ticket_id       BIGINT,
    cause           VARCHAR,
    top_cause       VARCHAR,
    top_probability DOUBLE,
    abstained       BOOLEAN,
    escalate        BOOLEAN
)
