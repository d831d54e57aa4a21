from django.contrib import admin

from .models import Domain, Skill, WorkerProfile


class SkillInline(admin.TabularInline):
    model = Skill
    extra = 0


@admin.register(Domain)
class DomainAdmin(admin.ModelAdmin):
    list_display = ("slug", "name")
    inlines = [SkillInline]


@admin.register(Skill)
class SkillAdmin(admin.ModelAdmin):
    list_display = ("slug", "name", "domain")
    list_filter = ("domain",)
    search_fields = ("slug", "name")


@admin.register(WorkerProfile)
class WorkerProfileAdmin(admin.ModelAdmin):
    list_display = ("id", "user", "status", "country", "clearance", "created_at")
    list_filter = ("status", "clearance")
    search_fields = ("user__email",)
    raw_id_fields = ("user",)
