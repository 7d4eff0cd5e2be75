/* Swagger UI for Elenchus, served by the app itself (no CDN). */
window.onload = function () {
	window.ui = SwaggerUIBundle({
		url: "/openapi.json",
		dom_id: "#swagger-ui",
		deepLinking: true,
		persistAuthorization: true
	});
};
