from django.urls import path

from . import views

urlpatterns = [
    # Workers
    path("worker/profile", views.ProfileView.as_view(), name="worker-profile"),
    path("worker/application", views.ApplicationView.as_view(), name="worker-application"),
    path("worker/qualifications", views.QualificationListView.as_view(),
         name="worker-qualifications"),
    path("worker/qualifications/<int:exam_id>/attempts", views.ExamAttemptStartView.as_view(),
         name="worker-exam-start"),
    path("worker/exam-attempts/<int:attempt_id>/submit", views.ExamAttemptSubmitView.as_view(),
         name="worker-exam-submit"),
    path("worker/clearance/accept-terms", views.TermsAcceptView.as_view(),
         name="worker-accept-terms"),
    path("worker/projects", views.EligibleProjectsView.as_view(), name="worker-projects"),
    path("worker/data-export", views.DataExportView.as_view(), name="worker-data-export"),
    path("worker/account", views.AccountView.as_view(), name="worker-account"),
    # Admins
    path("admin/applications", views.AdminApplicationListView.as_view(),
         name="admin-applications"),
    path("admin/applications/<int:application_id>/approve",
         views.AdminApplicationApproveView.as_view()),
    path("admin/applications/<int:application_id>/reject",
         views.AdminApplicationRejectView.as_view()),
    path("admin/workers", views.AdminWorkerListView.as_view(), name="admin-workers"),
    path("admin/workers/<int:worker_id>", views.AdminWorkerDetailView.as_view()),
    path("admin/workers/<int:worker_id>/suspend", views.AdminWorkerSuspendView.as_view()),
    path("admin/workers/<int:worker_id>/reinstate", views.AdminWorkerReinstateView.as_view()),
    path("admin/workers/<int:worker_id>/ban", views.AdminWorkerBanView.as_view()),
    path("admin/workers/<int:worker_id>/clearance", views.AdminWorkerClearanceView.as_view()),
    path("admin/workers/<int:worker_id>/skills", views.AdminWorkerSkillView.as_view()),
    path("admin/exams", views.AdminExamCreateView.as_view(), name="admin-exams"),
    # Requesters
    path("projects/<int:project_id>/blocks", views.ProjectBlocksView.as_view()),
    path("projects/<int:project_id>/blocks/<str:worker_id>",
         views.ProjectBlockDetailView.as_view()),
    path("projects/<int:project_id>/exam", views.ProjectExamView.as_view()),
    path("projects/<int:project_id>/required-exams", views.ProjectRequiredExamsView.as_view()),
]
