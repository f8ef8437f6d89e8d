from __future__ import annotations

from django.urls import path

from demo_project.demo import chat, live, views

app_name = "demo"

urlpatterns = [
    path("", views.index, name="index"),
    path("hello/", views.hello_page, name="hello"),
    path("api/hello", views.hello, name="api-hello"),
    path("posts/", views.posts, name="posts"),
    path("posts/<int:post_id>/like", views.like, name="like"),
    path("approvals/", views.approvals, name="approvals"),
    path("approvals/start", views.approvals_start, name="approvals-start"),
    path("runs/", views.runs_page, name="runs"),
    path("runs/start", views.runs_start, name="runs-start"),
    path("story/", views.story_page, name="story"),
    path("story/start", views.story_start, name="story-start"),
    path("chat/", chat.chat_page, name="chat"),
    path("chat/<str:room>/", chat.chat_page, name="chat-room"),
    path("activity/", live.activity_page, name="activity"),
    path("activity/post", live.activity_post, name="activity-post"),
    path("live-posts/", live.live_posts, name="live-posts"),
    path("live-posts/create", live.live_post_create, name="live-post-create"),
    path("live-posts/<int:post_id>/rename", live.live_post_rename, name="live-post-rename"),
    path("live-posts/<int:post_id>/delete", live.live_post_delete, name="live-post-delete"),
]
