from django.contrib import admin
from django.urls import path
from django.views.generic import RedirectView

from backoffice.views import GraphQLView

admin.site.site_header = "Seller back-office"
admin.site.site_title = "Seller back-office"
admin.site.index_title = "Stores, orders, disputes and money"

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
    # GraphiQL (GET with Accept: text/html) only when GRAPHIQL_ENABLED: see the view.
    path("graphql/", GraphQLView.as_view(graphql_ide="graphiql"), name="graphql"),
]

# On /graphql/ even Django's own refusals answer JSON (backoffice/views.py).
handler400 = "backoffice.views.bad_request"
handler500 = "backoffice.views.server_error"
