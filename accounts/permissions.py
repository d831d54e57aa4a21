from rest_framework.permissions import BasePermission

from .enums import Role


class IsRequester(BasePermission):
    message = "This endpoint is for requesters."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.role == Role.REQUESTER)


class IsWorker(BasePermission):
    message = "This endpoint is for workers."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.role == Role.WORKER)


class IsStaff(BasePermission):
    message = "This endpoint is for platform admins."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.is_staff)
