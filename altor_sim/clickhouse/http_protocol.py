"""ClickHouse's HTTP interface as the double speaks it: which URL parameters are transport
(the rest are settings), the formats it streams and their content types, the HTTP status of
each error name, and engine errors in ClickHouse's own `Code: N. DB::Exception` form."""

from __future__ import annotations

import email.parser
import email.policy
import re

from clickhouse_connect.driver._backend.httpcommon import decompress_response

# URL parameters that are not ClickHouse settings (the HTTP handler consumes them).
TRANSPORT_PARAMS = {
    "query", "database", "default_format", "query_id", "session_id", "session_timeout",
    "session_check", "compress", "decompress", "buffer_size", "wait_end_of_query",
    "client_protocol_version", "role", "quota_key", "user", "password",
    "enable_http_compression", "send_progress_in_http_headers",
    "http_headers_progress_interval_ms", "http_zlib_compression_level",
    "cancel_http_readonly_queries_on_client_close", "max_result_bytes", "result_overflow_mode",
}
STREAMABLE = {"Native", "TabSeparated", "TSV", "CSV", "RowBinary", "JSONEachRow",
               "TabSeparatedWithNames", "TSVWithNames"}
CONTENT_TYPES = {
    "TabSeparated": "text/tab-separated-values; charset=UTF-8",
    "TSV": "text/tab-separated-values; charset=UTF-8",
    "TabSeparatedWithNames": "text/tab-separated-values; charset=UTF-8",
    "CSV": "text/csv; charset=UTF-8; header=absent",
    "JSON": "application/json; charset=UTF-8",
    "JSONEachRow": "application/x-ndjson; charset=UTF-8",
    "JSONCompact": "application/json; charset=UTF-8",
}
# ClickHouse's exceptionCodeToHTTPStatus (src/Server/HTTP/exceptionCodeToHTTPStatus.cpp), by
# error name (chDB messages end with the name in parentheses).
STATUS_BY_NAME = {
    **dict.fromkeys(["REQUIRED_PASSWORD"], 401),
    **dict.fromkeys(["UNKNOWN_USER", "WRONG_PASSWORD", "AUTHENTICATION_FAILED",
                     "SET_NON_GRANTED_ROLE", "ACCESS_DENIED"], 403),
    **dict.fromkeys([
        "BAD_ARGUMENTS", "CANNOT_COMPILE_REGEXP", "CANNOT_PARSE_TEXT",
        "CANNOT_PARSE_ESCAPE_SEQUENCE", "CANNOT_PARSE_QUOTED_STRING", "CANNOT_PARSE_DATE",
        "CANNOT_PARSE_DATETIME", "CANNOT_PARSE_NUMBER", "CANNOT_PARSE_DOMAIN_VALUE_FROM_STRING",
        "CANNOT_PARSE_IPV4", "CANNOT_PARSE_IPV6", "CANNOT_PARSE_INPUT_ASSERTION_FAILED",
        "CANNOT_PARSE_UUID", "DUPLICATE_COLUMN", "ILLEGAL_COLUMN", "UNKNOWN_ELEMENT_IN_AST",
        "UNKNOWN_TYPE_OF_AST_NODE", "THERE_IS_NO_COLUMN", "TOO_DEEP_AST", "TOO_BIG_AST",
        "UNEXPECTED_AST_STRUCTURE", "SYNTAX_ERROR", "INCORRECT_DATA", "TYPE_MISMATCH",
        "VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE"], 400),
    **dict.fromkeys([
        "UNKNOWN_TABLE", "UNKNOWN_FUNCTION", "UNKNOWN_IDENTIFIER", "UNKNOWN_TYPE",
        "UNKNOWN_STORAGE", "UNKNOWN_DATABASE", "UNKNOWN_SETTING", "UNKNOWN_DIRECTION_OF_SORTING",
        "UNKNOWN_AGGREGATE_FUNCTION", "UNKNOWN_FORMAT", "UNKNOWN_DATABASE_ENGINE",
        "UNKNOWN_TYPE_OF_QUERY", "UNKNOWN_ROLE"], 404),
    "QUERY_IS_TOO_LARGE": 413,
    "NOT_IMPLEMENTED": 501,
    "SOCKET_TIMEOUT": 503,
    "CANNOT_OPEN_FILE": 503,
    "TIMEOUT_EXCEEDED": 408,
    "CANNOT_SCHEDULE_TASK": 503,
    "UNSUPPORTED_MEDIA_TYPE": 415,
}
RESULT_KINDS = {"SELECT", "WITH", "SHOW", "DESCRIBE", "DESC", "EXISTS", "EXPLAIN", "CHECK"}
TRAILING_FORMAT = re.compile(r"\bFORMAT\s+(\w+)\s*;?\s*$", re.IGNORECASE)
INSERT_FORMAT = re.compile(r"^\s*(INSERT\s+INTO\s+.+?)\s+FORMAT\s+(\w+)[ \t]*(?:\r?\n|$)",
                           re.IGNORECASE | re.DOTALL)
_CODE = re.compile(r"Code:\s*(\d+)")
_NAME = re.compile(r"\(([A-Z][A-Z0-9_]+)\)\s*(?:\(version [^)]*\))?\s*$")
SETTING_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_COMMENT = re.compile(r"(--[^\n]*\n?)|(/\*.*?\*/)", re.DOTALL)



class ClickHouseHttpError(Exception):
    def __init__(self, code: int, name: str, message: str) -> None:
        super().__init__(message)
        self.code, self.name, self.message = code, name, message


def engine_error(exc: Exception) -> ClickHouseHttpError:
    text = str(exc)
    at = text.find("Code: ")
    text = (text[at:] if at >= 0 else text).strip()
    code_match, name_match = _CODE.search(text), _NAME.search(text)
    code = int(code_match.group(1)) if code_match else 1001
    name = name_match.group(1) if name_match else "STD_EXCEPTION"
    return ClickHouseHttpError(code, name, text)


def decompress(data: bytes, encoding: str | None) -> bytes:
    try:
        return decompress_response(data, encoding)
    except Exception as exc:  # noqa: BLE001
        raise ClickHouseHttpError(48, "NOT_IMPLEMENTED",
                                  f"Cannot decode Content-Encoding {encoding}: {exc}") from exc


def statement_kind(sql: str) -> str:
    stripped = _COMMENT.sub(" ", sql).lstrip(" \t\r\n(")
    return stripped.split(None, 1)[0].upper() if stripped else ""


def quote_literal(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def form_fields(content_type: str, body: bytes) -> dict[str, bytes]:
    """The fields of a multipart/form-data body; a file field is refused (external data)."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    fields: dict[str, bytes] = {}
    for part in message.iter_parts():
        if part.get_filename():
            raise ClickHouseHttpError(48, "NOT_IMPLEMENTED",
                                      "external data is not supported by this front")
        name = part.get_param("name", header="content-disposition")
        fields[str(name)] = part.get_payload(decode=True) or b""
    return fields
