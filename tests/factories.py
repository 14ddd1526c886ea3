"""factory-boy factories for the models every test needs."""

from __future__ import annotations

import factory

from accounts.models import Membership, Unit, User


class UnitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Unit
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"33.U{n}")
    name = factory.LazyAttribute(lambda o: f"Unit {o.code}")
    kind = "opd"

    @classmethod
    def create_with_code(cls, code: str, name: str, kind: str) -> Unit:
        parent = None
        if "." in code:
            parent = Unit.objects.get(code=code.rsplit(".", 1)[0])
        return cls(code=code, name=name, kind=kind, parent=parent)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"asn{n}@jatengprov.go.id")
    nip = factory.Sequence(lambda n: f"19800101200501{n:04d}")
    full_name = factory.Faker("name", locale="id_ID")
    position = "Pranata Komputer"
    password = factory.PostGenerationMethodCall("set_password", "kata-sandi-uji-123")

    @factory.post_generation
    def _save(self, create, extracted, **kwargs):
        if create:
            self.save()


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    unit = factory.SubFactory(UnitFactory)
    role = "member"
