from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from flows import accounts as accounts_flow
from workers.selectors import skill_list

from .. import selectors, services
from ..models import User
from .serializers import (
    LoginInput,
    MeOutput,
    RegisterInput,
    RegisterOutput,
    SkillOutput,
    TokenOutput,
)


class RegisterView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth"

    @extend_schema(request=RegisterInput, responses={201: RegisterOutput}, tags=["accounts"])
    def post(self, request):
        payload = RegisterInput(data=request.data)
        payload.is_valid(raise_exception=True)
        user, issued = accounts_flow.register(**payload.validated_data)
        body = {"user": {"id": user.pk, "email": user.email, "role": user.role},
                "token": issued.token, "expires_at": issued.expires_at}
        return Response(RegisterOutput(body).data, status=status.HTTP_201_CREATED)


class TokenView(APIView):
    throttle_scope = "auth"

    def _is_login(self) -> bool:
        # The schema generator builds views without a request.
        return getattr(getattr(self, "request", None), "method", None) == "POST"

    def get_authenticators(self):
        # Login needs no token (a stale one must not block it); revoking needs the token.
        return [] if self._is_login() else super().get_authenticators()

    def get_permissions(self):
        return [AllowAny()] if self._is_login() else [IsAuthenticated()]

    def get_throttles(self):
        return [ScopedRateThrottle()] if self._is_login() else []

    @extend_schema(request=LoginInput, responses={200: TokenOutput}, tags=["accounts"])
    def post(self, request):
        payload = LoginInput(data=request.data)
        payload.is_valid(raise_exception=True)
        _user, issued = services.user_login(**payload.validated_data, request=request)
        return Response(TokenOutput({"token": issued.token,
                                     "expires_at": issued.expires_at}).data)

    @extend_schema(request=None, responses={204: None}, tags=["accounts"])
    def delete(self, request):
        services.token_revoke(token=request.auth)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    @extend_schema(responses=MeOutput, tags=["accounts"])
    def get(self, request):
        user = (User.objects.select_related("membership__organization", "worker_profile")
                .get(pk=request.user.pk))
        return Response(MeOutput(selectors.me_describe(user=user)).data)


class SkillListView(APIView):
    @extend_schema(responses=SkillOutput(many=True), tags=["accounts"])
    def get(self, request):
        return Response(SkillOutput(skill_list(), many=True).data)
