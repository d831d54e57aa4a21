from rest_framework import serializers

from ..enums import Role


class RegisterInput(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(max_length=128, write_only=True)
    role = serializers.ChoiceField(choices=[Role.REQUESTER, Role.WORKER])
    organization_name = serializers.CharField(max_length=200, required=False,
                                              allow_blank=True, default="")


class LoginInput(serializers.Serializer):
    email = serializers.EmailField()
    password = serializers.CharField(max_length=128, write_only=True)


class UserOutput(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    role = serializers.CharField()


class RegisterOutput(serializers.Serializer):
    user = UserOutput()
    token = serializers.CharField()
    expires_at = serializers.DateTimeField()


class TokenOutput(serializers.Serializer):
    token = serializers.CharField()
    expires_at = serializers.DateTimeField()


class OrganizationRef(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class MeOutput(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    role = serializers.CharField()
    is_staff = serializers.BooleanField()
    organization = OrganizationRef(required=False, allow_null=True)
    organization_role = serializers.CharField(required=False, allow_null=True)
    worker_id = serializers.IntegerField(required=False, allow_null=True)


class SkillOutput(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField()
    domain = serializers.SlugField(source="domain.slug")
