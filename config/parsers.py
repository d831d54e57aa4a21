"""Request body parsers that apply ``config.input_rules`` to everything they return, so no
view, serializer or service ever sees a body that breaks them."""
import codecs

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError

from config import input_rules


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = codecs.getreader(encoding)(stream).read()
            data = input_rules.loads(text)
        except input_rules.TooDeep as exc:
            raise ParseError(f"JSON parse error - {exc}")
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}")
        if not input_rules.json_text_is_clean(text):
            input_rules.check_value(data)
        return data


def _check_query_dict(data) -> None:
    for key, values in data.lists():
        input_rules.check_value({key: [value for value in values if isinstance(value, str)]})


class FormParser(parsers.FormParser):
    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        _check_query_dict(data)
        return data


class MultiPartParser(parsers.MultiPartParser):
    def parse(self, stream, media_type=None, parser_context=None):
        result = super().parse(stream, media_type, parser_context)
        _check_query_dict(result.data)
        # File names end up in messages and import records.
        for name, uploaded in result.files.items():
            input_rules.check_value(uploaded.name or "", where=name)
        return result
