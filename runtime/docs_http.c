/* docs_http: GET /docs (Swagger UI over GET /openapi.json) and its two assets. */
#include "docs_http.h"


#ifndef SWAGGER_UI_DIR
#error "SWAGGER_UI_DIR: the unpacked swagger-ui-dist (set by runtime/CMakeLists.txt)"
#endif

/* The assets go into .rodata as they are: no copy in the source tree, no runtime files. */
__asm__(".section .rodata\n"
        ".balign 16\n"
        "docs_bundle_js:\n"
        ".incbin \"" SWAGGER_UI_DIR "/package/swagger-ui-bundle.js\"\n"
        "docs_bundle_js_end:\n"
        ".balign 16\n"
        "docs_ui_css:\n"
        ".incbin \"" SWAGGER_UI_DIR "/package/swagger-ui.css\"\n"
        "docs_ui_css_end:\n"
        ".previous\n");
extern const char docs_bundle_js[], docs_bundle_js_end[];
extern const char docs_ui_css[], docs_ui_css_end[];

/* Relative URLs: the page works behind a path prefix or another port as well. */
static const char page[] =
    "<!doctype html>\n"
    "<html lang=\"en\">\n"
    "<head>\n"
    "  <meta charset=\"utf-8\">\n"
    "  <title>API</title>\n"
    "  <link rel=\"stylesheet\" href=\"docs/swagger-ui.css\">\n"
    "</head>\n"
    "<body>\n"
    "  <div id=\"swagger-ui\"></div>\n"
    "  <script src=\"docs/swagger-ui-bundle.js\"></script>\n"
    "  <script>\n"
    "    window.ui = SwaggerUIBundle({url: \"openapi.json\", dom_id: \"#swagger-ui\",\n"
    "                                 deepLinking: true, docExpansion: \"list\"});\n"
    "  </script>\n"
    "</body>\n"
    "</html>\n";

void docs_http_bytes(http_raw_response *out, const char *content_type, const void *data,
                     size_t len) {
  out->static_body = data;
  out->status = 200;
  out->content_type = content_type;
  out->len = len;
}

void docs_http_page(http_call *call, http_raw_response *out) {
  (void)call;
  docs_http_bytes(out, "text/html; charset=utf-8", page, sizeof page - 1);
}

void docs_http_bundle(http_call *call, http_raw_response *out) {
  (void)call;
  docs_http_bytes(out, "application/javascript; charset=utf-8", docs_bundle_js,
                  (size_t)(docs_bundle_js_end - docs_bundle_js));
}

void docs_http_css(http_call *call, http_raw_response *out) {
  (void)call;
  docs_http_bytes(out, "text/css; charset=utf-8", docs_ui_css,
                  (size_t)(docs_ui_css_end - docs_ui_css));
}
