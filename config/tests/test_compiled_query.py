"""config.compiled_query: the queryset's own results, its SQL built once, its guards kept."""
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from django.db import connection, transaction
from django.db.models.sql.compiler import SQLCompiler
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from marketplace.models import Membership, Organization
from config.compiled_query import CompiledQuery, _inline_constants

pytestmark = pytest.mark.django_db

on_postgresql = pytest.mark.skipif(connection.vendor != "postgresql",
                                   reason="the compiled path is PostgreSQL's")

MEMBERS = CompiledQuery(
    lambda organization_id, joined_after: Membership.objects.filter(
        organization_id=organization_id, user__date_joined__gt=joined_after)
    .select_related("user", "organization").order_by("user__email"),
    organization_id=int, joined_after=datetime)

EMAILS = CompiledQuery(lambda name: User.objects.filter(membership__organization__name=name)
                       .order_by("email").values_list("email", flat=True), name=str)


@pytest.fixture
def two_organizations():
    made = {}
    for name in ("Acme", "Globex"):
        organization = Organization.objects.create(name=name)
        for index in range(2):
            user = User.objects.create_user(email=f"{name.lower()}{index}@example.com",
                                            password="x" * 12)
            Membership.objects.create(user=user, organization=organization)
        made[name] = organization
    return made


def test_fetch_returns_what_the_queryset_returns_with_related_rows_attached(
        two_organizations):
    long_ago = datetime(2000, 1, 1, tzinfo=UTC)
    for organization in two_organizations.values():
        expected = list(Membership.objects.filter(organization=organization)
                        .order_by("user__email"))

        with CaptureQueriesContext(connection) as captured:
            members = MEMBERS.fetch(organization_id=organization.pk, joined_after=long_ago)
            emails = [member.user.email for member in members]
            names = {member.organization.name for member in members}

        assert members == expected
        assert emails == [member.user.email for member in expected]
        assert names == {organization.name}
        assert len(captured) == 1  # user and organization came in the same statement


def test_every_value_is_bound_afresh(two_organizations):
    acme = two_organizations["Acme"]
    assert len(MEMBERS.fetch(organization_id=acme.pk,
                             joined_after=datetime(2000, 1, 1, tzinfo=UTC))) == 2
    assert MEMBERS.fetch(organization_id=acme.pk,
                         joined_after=datetime.now(UTC) + timedelta(days=1)) == []
    assert EMAILS.fetch(name="Globex") == ["globex0@example.com", "globex1@example.com"]
    assert EMAILS.fetch(name="Initech") == []


def test_get_gives_the_one_row_or_the_models_exceptions(two_organizations):
    one_email = CompiledQuery(lambda email: User.objects.filter(email=email), email=str)
    assert one_email.get(email="acme1@example.com").email == "acme1@example.com"
    with pytest.raises(User.DoesNotExist):
        one_email.get(email="nobody@example.com")
    with pytest.raises(User.MultipleObjectsReturned):
        EMAILS_AS_USERS.get(name="Acme")


EMAILS_AS_USERS = CompiledQuery(lambda name: User.objects.filter(
    membership__organization__name=name), name=str)


@on_postgresql
def test_the_sql_is_built_once_per_process(two_organizations):
    emails = CompiledQuery(lambda name: User.objects.filter(
        membership__organization__name=name).values_list("email", flat=True), name=str)
    with mock.patch.object(SQLCompiler, "as_sql", autospec=True,
                           side_effect=SQLCompiler.as_sql) as built:
        for name in ("Acme", "Globex", "Acme"):
            assert len(emails.fetch(name=name)) == 2
    assert built.call_count == 1


@on_postgresql
def test_a_row_lock_outside_a_transaction_is_refused_as_the_orm_refuses_it(
        two_organizations, django_db_blocker):
    locked = CompiledQuery(lambda email: User.objects.select_for_update().filter(email=email),
                           email=str)
    with transaction.atomic():
        assert locked.get(email="acme0@example.com")
    with mock.patch.object(connection, "get_autocommit", return_value=True):
        with pytest.raises(TransactionManagementError):
            locked.fetch(email="acme0@example.com")


@on_postgresql
def test_a_parameter_the_lookup_transforms_is_refused_at_first_use(two_organizations):
    contains = CompiledQuery(lambda part: User.objects.filter(email__contains=part), part=str)
    with pytest.raises(ValueError, match="did not reach the SQL"):
        contains.fetch(part="acme")


def test_values_are_prepared_as_the_orm_prepares_them(two_organizations):
    acme = two_organizations["Acme"]
    long_ago = datetime(2000, 1, 1, tzinfo=UTC)
    assert len(MEMBERS.fetch(organization_id=str(acme.pk), joined_after=long_ago)) == 2
    with pytest.raises(ValueError):
        MEMBERS.fetch(organization_id="acme", joined_after=long_ago)


def test_parameters_must_be_the_declared_ones(two_organizations):
    with pytest.raises(TypeError):
        EMAILS.fetch(nom="Acme")


# A member's e-mail by organization, above a user id, with constants of two kinds: a
# plain word and a text that is not one.
MEMBER_EMAILS = CompiledQuery(
    lambda name, above: User.objects.filter(
        membership__organization__name=name, id__gt=above, first_name="Ann",
        last_name="O'Brien %").values_list("email", flat=True), name=str, above=int)


@on_postgresql
def test_constants_are_written_into_the_sql_and_values_stay_parameters(two_organizations):
    sql, params = MEMBER_EMAILS.sql_with_params(name="Acme", above=-7)

    # A plain word is a literal (a generic plan knows it: a partial index on it stays
    # usable); the caller's values, and text that is not a plain word, stay parameters.
    assert '"accounts_user"."first_name" = \'Ann\'' in sql
    assert sorted(map(str, params)) == ["-7", "Acme", "O'Brien %"]
    User.objects.filter(email="acme0@example.com").update(first_name="Ann",
                                                          last_name="O'Brien %")
    assert MEMBER_EMAILS.fetch(name="Acme", above=-7) == ["acme0@example.com"]


@on_postgresql
def test_a_negative_constant_stays_one_number():
    sql, kept = _inline_constants("SELECT 5 - %s, %s, '%%'", [(-1,), "value"])

    assert (sql, kept) == ("SELECT 5 - (-1), %s, '%%'", ("value",))


@on_postgresql
def test_later_calls_reuse_the_plans_converters_and_copy_no_query_tree(requester,
                                                                        monkeypatch):
    from django.db.models.sql.query import Query

    from marketplace.models import Project
    from marketplace.services import project_create
    from workers.tests.factories import project_fields
    project = project_create(organization=requester.membership.organization,
                             actor=requester, fields=project_fields())
    with_organization = CompiledQuery(
        lambda pk: Project.objects.filter(pk=pk).select_related("organization"), pk=int)
    with_organization.fetch(pk=project.pk)  # the plan is made here
    monkeypatch.setattr(SQLCompiler, "get_converters",
                        lambda *args: pytest.fail("converters looked up again"))
    monkeypatch.setattr(Query, "clone", lambda *args: pytest.fail("query tree copied"))

    fetched = with_organization.fetch(pk=project.pk)[0]

    assert fetched.label_config == project.label_config  # JSON decoded by the converter
    assert isinstance(fetched.label_config, dict)
    assert fetched.organization.name == requester.membership.organization.name
