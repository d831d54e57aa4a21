"""Django admin for people who prefer a screen: a vetting queue and standing actions,
all going through the same services (and audit log) as the API."""
from django import forms
from django.contrib import admin, messages
from django.shortcuts import render

from config.errors import ApiError

from . import services
from .enums import ApplicationStatus, Clearance
from .models import (
    Domain,
    ExamAttempt,
    ProjectExamRequirement,
    QualificationExam,
    Skill,
    WorkerApplication,
    WorkerAuditEvent,
    WorkerBlock,
    WorkerProfile,
    WorkerSkill,
)


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


class ReasonForm(forms.Form):
    _selected_action = forms.CharField(widget=forms.MultipleHiddenInput)
    reason = forms.CharField(widget=forms.Textarea, required=True)


class ApproveForm(forms.Form):
    _selected_action = forms.CharField(widget=forms.MultipleHiddenInput)
    skills = forms.ModelMultipleChoiceField(queryset=Skill.objects.order_by("slug"),
                                            required=True,
                                            help_text="Verified at the level below")
    level = forms.IntegerField(min_value=0, max_value=100, initial=60)
    clearance = forms.ChoiceField(choices=[("", "unchanged")] + list(Clearance.choices),
                                  required=False)
    note = forms.CharField(widget=forms.Textarea, required=False)


def _with_reason(modeladmin, request, queryset, *, title: str, apply):
    """Ask for a reason on an intermediate page, then apply the service to each row."""
    if "apply" in request.POST:
        form = ReasonForm(request.POST)
        if form.is_valid():
            done = 0
            for obj in queryset:
                try:
                    apply(obj, request.user, form.cleaned_data["reason"])
                    done += 1
                except ApiError as exc:
                    modeladmin.message_user(request, f"{obj}: {exc.detail}", messages.ERROR)
            modeladmin.message_user(request, f"{title}: {done} done.")
            return None
    else:
        form = ReasonForm(initial={"_selected_action": request.POST.getlist(
            admin.helpers.ACTION_CHECKBOX_NAME)})
    return render(request, "admin/quorum_reason.html", {
        "title": title, "objects": queryset, "form": form,
        "action": request.POST.get("action"), "opts": modeladmin.model._meta})


class WorkerSkillInline(admin.TabularInline):
    model = WorkerSkill
    extra = 0
    readonly_fields = ("skill", "level", "source", "updated_at")
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False  # verified levels change through the "set skill" API (audited)


class AuditInline(admin.TabularInline):
    model = WorkerAuditEvent
    extra = 0
    readonly_fields = ("action", "actor", "reason", "details", "created_at")
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(WorkerProfile)
class WorkerProfileAdmin(admin.ModelAdmin):
    list_display = ("id", "user", "pseudonym", "status", "country", "clearance", "created_at")
    list_filter = ("status", "clearance")
    search_fields = ("user__email", "pseudonym", "full_name")
    raw_id_fields = ("user",)
    readonly_fields = ("user", "pseudonym", "status", "status_reason", "clearance",
                       "terms_version_accepted", "terms_accepted_at", "erased_at", "created_at")
    inlines = [WorkerSkillInline, AuditInline]
    actions = ["suspend", "reinstate", "ban", "grant_confidential", "grant_pii", "grant_phi"]

    @admin.action(description="Suspend selected workers (asks for a reason)")
    def suspend(self, request, queryset):
        return _with_reason(self, request, queryset, title="Suspend", apply=lambda w, u, r:
                            services.worker_suspend(worker=w, actor=u, reason=r))

    @admin.action(description="Reinstate selected workers (asks for a reason)")
    def reinstate(self, request, queryset):
        return _with_reason(self, request, queryset, title="Reinstate", apply=lambda w, u, r:
                            services.worker_reinstate(worker=w, actor=u, reason=r))

    @admin.action(description="Ban selected workers (asks for a reason)")
    def ban(self, request, queryset):
        return _with_reason(self, request, queryset, title="Ban", apply=lambda w, u, r:
                            services.worker_ban(worker=w, actor=u, reason=r))

    def _grant(self, request, queryset, clearance):
        return _with_reason(self, request, queryset, title=f"Grant {clearance} clearance",
                            apply=lambda w, u, r: services.worker_clearance_grant(
                                worker=w, actor=u, clearance=clearance, reason=r))

    @admin.action(description="Grant confidential clearance")
    def grant_confidential(self, request, queryset):
        return self._grant(request, queryset, Clearance.CONFIDENTIAL)

    @admin.action(description="Grant PII clearance")
    def grant_pii(self, request, queryset):
        return self._grant(request, queryset, Clearance.PII)

    @admin.action(description="Grant PHI clearance")
    def grant_phi(self, request, queryset):
        return self._grant(request, queryset, Clearance.PHI)


@admin.register(WorkerApplication)
class WorkerApplicationAdmin(admin.ModelAdmin):
    """The vetting queue: pending applications first, oldest first."""

    list_display = ("id", "worker", "status", "created_at", "decided_by", "decided_at")
    list_filter = ("status",)
    search_fields = ("worker__user__email", "statement")
    readonly_fields = ("worker", "statement", "credentials", "status", "reason",
                       "decided_by", "decided_at", "created_at")
    actions = ["approve", "reject"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("worker__user")

    def changelist_view(self, request, extra_context=None):
        if "status__exact" not in request.GET and not request.GET.get("q"):
            query = request.GET.copy()
            query["status__exact"] = ApplicationStatus.PENDING
            request.GET = query
            request.META["QUERY_STRING"] = query.urlencode()
        return super().changelist_view(request, extra_context)

    @admin.action(description="Approve with verified skills and clearance")
    def approve(self, request, queryset):
        if "apply" in request.POST:
            form = ApproveForm(request.POST)
            if form.is_valid():
                skills = [(skill, form.cleaned_data["level"])
                          for skill in form.cleaned_data["skills"]]
                for application in queryset:
                    try:
                        services.application_approve(
                            application=application, actor=request.user, skills=skills,
                            clearance=form.cleaned_data["clearance"] or None,
                            note=form.cleaned_data["note"])
                    except ApiError as exc:
                        self.message_user(request, f"{application}: {exc.detail}",
                                          messages.ERROR)
                return None
        else:
            form = ApproveForm(initial={"_selected_action": request.POST.getlist(
                admin.helpers.ACTION_CHECKBOX_NAME)})
        return render(request, "admin/quorum_reason.html", {
            "title": "Approve", "objects": queryset, "form": form,
            "action": request.POST.get("action"), "opts": self.model._meta})

    @admin.action(description="Reject selected applications (asks for a reason)")
    def reject(self, request, queryset):
        return _with_reason(self, request, queryset, title="Reject", apply=lambda a, u, r:
                            services.application_reject(application=a, actor=u, reason=r))


@admin.register(WorkerAuditEvent)
class WorkerAuditEventAdmin(admin.ModelAdmin):
    list_display = ("created_at", "worker", "action", "actor", "reason")
    list_filter = ("action",)
    search_fields = ("worker__user__email", "worker__pseudonym", "reason")
    readonly_fields = ("worker", "actor", "action", "reason", "details", "created_at")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(WorkerBlock)
class WorkerBlockAdmin(admin.ModelAdmin):
    list_display = ("organization", "worker", "pseudonym", "reason", "created_at")
    raw_id_fields = ("organization", "worker", "project", "created_by")


@admin.register(QualificationExam)
class QualificationExamAdmin(admin.ModelAdmin):
    list_display = ("id", "project", "skill", "organization", "pass_mark", "question_count",
                    "is_active")
    list_filter = ("is_active", "skill")
    raw_id_fields = ("project", "organization", "created_by")


@admin.register(ExamAttempt)
class ExamAttemptAdmin(admin.ModelAdmin):
    list_display = ("id", "exam", "worker", "status", "score", "started_at", "submitted_at")
    list_filter = ("status",)
    readonly_fields = [f.name for f in ExamAttempt._meta.fields]


@admin.register(ProjectExamRequirement)
class ProjectExamRequirementAdmin(admin.ModelAdmin):
    list_display = ("project", "exam")
    raw_id_fields = ("project", "exam")
