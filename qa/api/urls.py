from django.urls import path

from . import views

urlpatterns = [
    path("worker/stats", views.WorkerStatsView.as_view(), name="worker-stats"),
    path("worker/disputes", views.WorkerDisputesView.as_view(), name="worker-disputes"),
    path("worker/reviews/next", views.ReviewNextView.as_view(), name="worker-review-next"),
    path("worker/reviews/<int:review_id>/verdict", views.ReviewVerdictView.as_view()),
    path("projects/<int:project_id>/quality", views.ProjectQualityView.as_view()),
    path("projects/<int:project_id>/results", views.ProjectResultsView.as_view(),
         name="project-results"),
    path("projects/<int:project_id>/quality-actions", views.ProjectQualityActionsView.as_view()),
    path("projects/<int:project_id>/suspensions/<str:worker_id>/lift",
         views.ProjectLiftSuspensionView.as_view()),
    path("admin/disputes", views.AdminDisputesView.as_view(), name="admin-disputes"),
    path("admin/disputes/<int:dispute_id>/resolve", views.AdminDisputeResolveView.as_view()),
    path("admin/workers/<int:worker_id>/reviewer-grants", views.AdminReviewerGrantView.as_view()),
    path("admin/workers/<int:worker_id>/projects/<int:project_id>/lift-suspension",
         views.AdminLiftSuspensionView.as_view()),
]
