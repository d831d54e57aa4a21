from rest_framework import pagination, serializers


class PageNumberPagination(pagination.PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 500


def paginated_response(request, queryset, serializer_class, *, view=None, context=None):
    """Page a queryset the contract's way: {count, next, previous, results}."""
    paginator = PageNumberPagination()
    page = paginator.paginate_queryset(queryset, request, view=view)
    data = serializer_class(page, many=True, context=context or {}).data
    return paginator.get_paginated_response(data)


_PAGE_SERIALIZERS: dict[str, type] = {}


def paginated(serializer_class: type) -> type:
    """The OpenAPI shape of a page of ``serializer_class`` as ``paginated_response`` sends
    it: {count, next, previous, results}. For ``extend_schema(responses=...)`` of list
    views, which are APIViews that drf-spectacular cannot see paginate."""
    name = f"Paginated{serializer_class.__name__.removesuffix('Output')}List"
    if name not in _PAGE_SERIALIZERS:
        _PAGE_SERIALIZERS[name] = type(name, (serializers.Serializer,), {
            "__module__": __name__,
            "count": serializers.IntegerField(help_text="Rows over all pages"),
            "next": serializers.URLField(allow_null=True, help_text="The next page, or null"),
            "previous": serializers.URLField(allow_null=True,
                                             help_text="The previous page, or null"),
            "results": serializer_class(many=True),
        })
    return _PAGE_SERIALIZERS[name]
