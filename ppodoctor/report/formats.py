"""The output formats' names, and what the machine formats call a file that could not be checked."""

FORMATS = ("text", "concise", "json", "json-lines", "sarif", "github", "gitlab", "junit")
# JSON gives it a null code.
FILE_ERROR = "file-error"
