/*
 * test_extract.c -- text normalisation and the result JSON in-process;
 * the sandboxed extractor end to end through extract_run on every
 * fixture; and the runner's failure paths (timeout, signal, output bound).
 *
 * $EXTRACT_EXE names the built extractor (default build/elenchus-extract);
 * fixtures are in $FIXTURES_DIR (default build/fixtures/docs) and are
 * generated on demand by tests/fixtures/make_fixtures.sh.
 */

#include <criterion/criterion.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chunk.h"
#include "utf8.h"
#include "extract.h"

#define EXE_DEFAULT		"build/elenchus-extract"
#define FIXTURES_DEFAULT	"build/fixtures/docs"
#define FIXTURES_SCRIPT		"tests/fixtures/make_fixtures.sh"
#define RUN_TIMEOUT_S		20
#define RUN_MAX_OUT		(64 * 1024 * 1024)

static char	*fixture(const char *, size_t *);
static const char *exe(void);
static int	 run_fixture(const char *, const char *, struct extract_doc *,
		    char **);
static double	 now_s(void);
static size_t	 cp_len(const char *, const char *);

static char *
fixture(const char *name, size_t *len)
{
	const char	*dir;
	char		 path[1024], cmd[1200];
	char		*buf;
	FILE		*f;
	long		 n;

	if ((dir = getenv("FIXTURES_DIR")) == NULL)
		dir = FIXTURES_DEFAULT;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "rb")) == NULL) {
		snprintf(cmd, sizeof(cmd), "sh %s %s", FIXTURES_SCRIPT, dir);
		cr_assert_eq(system(cmd), 0, "cannot run %s", cmd);
		f = fopen(path, "rb");
	}
	cr_assert_not_null(f, "missing fixture %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return (buf);
}

static const char *
exe(void)
{
	const char	*e = getenv("EXTRACT_EXE");

	return (e != NULL ? e : EXE_DEFAULT);
}

/*
 * Run the extractor on a fixture (with -N name when name is not NULL) and
 * parse its answer.  Returns 0, or -1 with the runner's or parser's
 * reason in *err.
 */
static int
run_fixture(const char *file, const char *name, struct extract_doc *doc,
    char **err)
{
	char	*data, *json = NULL;
	char	*argv[4];
	size_t	 len;
	int	 rc;

	data = fixture(file, &len);
	argv[0] = (char *)(uintptr_t)exe();
	argv[1] = name != NULL ? "-N" : NULL;
	argv[2] = (char *)(uintptr_t)name;
	argv[3] = NULL;
	*err = NULL;
	rc = extract_runv(argv, data, len, RUN_TIMEOUT_S, RUN_MAX_OUT, &json,
	    err);
	free(data);
	if (rc == 0) {
		rc = extract_result_parse(json, strlen(json), doc, err);
		free(json);
	}
	return (rc);
}

static double
now_s(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((double)ts.tv_sec + ts.tv_nsec / 1e9);
}

/* Code points between s and e. */
static size_t
cp_len(const char *s, const char *e)
{
	size_t	 n = 0;

	for (; s < e; s++) {
		if ((*s & 0xc0) != 0x80)
			n++;
	}
	return (n);
}

/* --- in-process: normalisation and JSON -------------------------------- */

Test(extract, normalise_strips_bom_and_unifies_line_ends)
{
	const char	*in = "\xef\xbb\xbf" "a\r\nb\rc\nd\fe\tf";
	char		*out;
	size_t		 len;

	out = extract_text_normalise(in, strlen(in), &len);
	cr_assert_str_eq(out, "a\nb\nc\nd\ne\tf");
	cr_assert_eq(len, strlen(out));
	free(out);
}

Test(extract, normalise_drops_nul_and_controls_and_repairs_utf8)
{
	const char	 in[] = "x\0y\x01z \xc3\x28 \xed\xa0\x80 \xe2\x82\xac";
	char		*out;
	size_t		 len;

	out = extract_text_normalise(in, sizeof(in) - 1, &len);
	cr_assert_str_eq(out, "xyz \xef\xbf\xbd( \xef\xbf\xbd\xef\xbf\xbd"
	    "\xef\xbf\xbd \xe2\x82\xac");
	cr_assert_eq(memchr(out, '\0', len), NULL);
	free(out);
}

Test(extract, utf8_cut_never_splits_a_code_point)
{
	const char	*s = "a\xe2\x82\xac" "b";	/* a € b */

	cr_assert_eq(utf8_clip(s, 5, 10), 5);
	cr_assert_eq(utf8_clip(s, 5, 4), 4);
	cr_assert_eq(utf8_clip(s, 5, 3), 1);
	cr_assert_eq(utf8_clip(s, 5, 2), 1);
	cr_assert_eq(utf8_clip(s, 5, 1), 1);
	cr_assert_eq(utf8_clip(s, 5, 0), 0);
}

Test(extract, has_text_ignores_unicode_white_space)
{
	cr_assert(!extract_has_text("", 0));
	cr_assert(!extract_has_text(" \n\t\xc2\xa0\xe3\x80\x80\xef\xbb\xbf",
	    11));
	cr_assert(extract_has_text("  x ", 4));
	cr_assert(extract_has_text("\xe5\xa5\x91", 3));
}

Test(extract, pdf_answer_round_trips_with_code_point_page_starts)
{
	json_t			*obj;
	struct extract_doc	 d;
	char			*json, *err = NULL;

	obj = extract_json_new("pdf");
	cr_assert_not_null(obj);
	cr_assert_eq(extract_json_add_page(obj, "Grüße", strlen("Grüße")), 0);
	cr_assert_eq(extract_json_add_page(obj, "", 0), 0);
	cr_assert_eq(extract_json_add_page(obj, "\xcf\x80 end", 6), 0);
	json = extract_json_finish(obj);
	cr_assert_not_null(json);
	cr_assert_eq(extract_result_parse(json, strlen(json), &d, &err), 0,
	    "%s", err);
	cr_assert_str_eq(d.file_type, "pdf");
	cr_assert_eq(d.page_count, 3);
	cr_assert_eq(d.npages, 3);
	cr_assert(d.has_text);
	cr_assert_eq(d.nwarnings, 0);
	cr_assert_str_eq(d.text, "Grüße" EXTRACT_PAGE_SEP EXTRACT_PAGE_SEP
	    "\xcf\x80 end");
	/* "Grüße" is 5 code points; separators are 2. */
	cr_assert_eq(d.page_starts[0], 0);
	cr_assert_eq(d.page_starts[1], 7);
	cr_assert_eq(d.page_starts[2], 9);
	extract_doc_free(&d);
	free(json);
}

Test(extract, page_starts_feed_the_chunker)
{
	json_t			*obj;
	struct extract_doc	 d;
	struct chunk_span	*c = NULL;
	char			*json, *err = NULL;
	size_t			 n = 0;

	obj = extract_json_new("pdf");
	extract_json_add_page(obj, "Première page.", strlen("Première page."));
	extract_json_add_page(obj, "Zweite Seite.", 13);
	json = extract_json_finish(obj);
	cr_assert_eq(extract_result_parse(json, strlen(json), &d, &err), 0);
	cr_assert_eq(chunk_split(d.text, d.text_len, d.page_starts, d.npages,
	    &c, &n), 0);
	cr_assert_eq(n, 1);
	cr_assert_eq(c[0].page_start, 1);
	cr_assert_eq(c[0].page_end, 2);
	cr_assert_eq(c[0].end_char, 14 + 2 + 13);
	free(c);
	extract_doc_free(&d);
	free(json);
}

Test(extract, empty_pdf_answer_has_no_text_and_warns)
{
	json_t			*obj;
	struct extract_doc	 d;
	char			*json, *err = NULL;

	obj = extract_json_new("pdf");
	extract_json_add_page(obj, "  \n", 3);
	json = extract_json_finish(obj);
	cr_assert_eq(extract_result_parse(json, strlen(json), &d, &err), 0);
	cr_assert(!d.has_text);
	cr_assert_eq(d.nwarnings, 1);
	cr_assert_str_eq(d.warnings[0], EXTRACT_WARN_NO_TEXT);
	extract_doc_free(&d);
	free(json);
}

Test(extract, text_answer_has_no_pages)
{
	json_t			*obj;
	struct extract_doc	 d;
	char			*json, *err = NULL;

	obj = extract_json_new("txt");
	extract_json_set_text(obj, "hello", 5);
	json = extract_json_finish(obj);
	cr_assert_eq(extract_result_parse(json, strlen(json), &d, &err), 0);
	cr_assert_str_eq(d.file_type, "txt");
	cr_assert_str_eq(d.text, "hello");
	cr_assert_eq(d.page_count, 0);
	cr_assert_null(d.page_starts);
	cr_assert(d.has_text);
	extract_doc_free(&d);
	free(json);
}

Test(extract, error_answers_and_garbage_do_not_parse)
{
	struct extract_doc	 d;
	char			*json, *err = NULL;

	json = extract_json_error("PDF is encrypted");
	cr_assert_eq(extract_result_parse(json, strlen(json), &d, &err), -1);
	cr_assert_str_eq(err, "PDF is encrypted");
	free(err);
	free(json);
	cr_assert_eq(extract_result_parse("{\"file_", 7, &d, &err), -1);
	cr_assert_not_null(err);
	free(err);
	cr_assert_eq(extract_result_parse("[1]", 3, &d, &err), -1);
	free(err);
	cr_assert_eq(extract_result_parse("{\"file_type\":\"txt\"}", 19, &d,
	    &err), -1);
	free(err);
}

/* --- the extractor, end to end ------------------------------------------ */

Test(extract, three_page_pdf_gives_text_per_page)
{
	struct extract_doc	 d;
	char			*err = NULL, *p2, *p3;

	cr_assert_eq(run_fixture("three_pages.pdf", NULL, &d, &err), 0,
	    "%s", err);
	cr_assert_str_eq(d.file_type, "pdf");
	cr_assert_eq(d.page_count, 3);
	cr_assert(d.has_text);
	cr_assert_not_null(strstr(d.text, "The tenant shall pay the rent"));
	cr_assert_not_null(strstr(d.text, "Vertragsänderung: déjà vu"));
	p2 = strstr(d.text, "Page two");
	p3 = strstr(d.text, "Page three");
	cr_assert_not_null(p2);
	cr_assert_not_null(p3);
	/* Each page's text begins at its recorded code point offset. */
	cr_assert_eq(d.page_starts[1], cp_len(d.text, p2));
	cr_assert_eq(d.page_starts[2], cp_len(d.text, p3));
	cr_assert_neq(d.page_starts[1], (size_t)(p2 - d.text));
	extract_doc_free(&d);
}

Test(extract, scanned_pdf_has_no_text_and_a_warning)
{
	struct extract_doc	 d;
	char			*err = NULL;
	size_t			 i;
	int			 warned = 0;

	cr_assert_eq(run_fixture("scan.pdf", NULL, &d, &err), 0, "%s", err);
	cr_assert_eq(d.page_count, 1);
	cr_assert(!d.has_text);
	for (i = 0; i < d.nwarnings; i++)
		if (strcmp(d.warnings[i], EXTRACT_WARN_NO_TEXT) == 0)
			warned = 1;
	cr_assert(warned);
	extract_doc_free(&d);
}

Test(extract, docx_gives_paragraphs_tables_tabs_and_non_ascii)
{
	struct extract_doc	 d;
	char			*err = NULL;

	cr_assert_eq(run_fixture("table.docx", NULL, &d, &err), 0, "%s",
	    err);
	cr_assert_str_eq(d.file_type, "docx");
	cr_assert(d.has_text);
	/* The tab stop in the paragraph properties is not text. */
	cr_assert_eq(strncmp(d.text, "Mietvertrag über Wohnräume\n", 28), 0,
	    "%s", d.text);
	cr_assert_not_null(strstr(d.text, "Clause 1\tGröße: 80 m² & Balkon\n"));
	cr_assert_not_null(strstr(d.text,
	    "Ελληνικά: σύμβαση μίσθωσης\n契約書 😀\n"));
	cr_assert_not_null(strstr(d.text,
	    "Party\tRôle\nMüller GmbH\tVermieter\n"));
	cr_assert_null(strstr(d.text, "deleted words"));
	cr_assert_not_null(strstr(d.text, "Signed in Zürich."));
	extract_doc_free(&d);
}

Test(extract, utf8_text_is_cleaned)
{
	struct extract_doc	 d;
	char			*err = NULL;

	cr_assert_eq(run_fixture("notes.txt", NULL, &d, &err), 0, "%s", err);
	cr_assert_str_eq(d.file_type, "txt");
	cr_assert_eq(strncmp(d.text, "Notes on the lease\n", 19), 0);
	cr_assert_null(strchr(d.text, '\r'));
	cr_assert_not_null(strstr(d.text, "Ο μισθωτής πληρώνει. 租金按月支付。"));
	extract_doc_free(&d);
}

Test(extract, markdown_is_named_md_when_the_name_says_so)
{
	struct extract_doc	 d;
	char			*err = NULL;

	cr_assert_eq(run_fixture("readme.md", "readme.md", &d, &err), 0,
	    "%s", err);
	cr_assert_str_eq(d.file_type, "md");
	cr_assert_not_null(strstr(d.text, "Schadenersatz für Mängel"));
	extract_doc_free(&d);
}

Test(extract, zip_bomb_is_refused_within_bounds)
{
	struct extract_doc	 d;
	char			*err = NULL;
	double			 t0 = now_s();

	cr_assert_eq(run_fixture("zipbomb.docx", NULL, &d, &err), -1);
	cr_assert_not_null(strstr(err, "inflates to more than"), "%s", err);
	cr_assert_lt(now_s() - t0, RUN_TIMEOUT_S);
	free(err);
}

Test(extract, zip_bomb_with_lying_sizes_is_refused)
{
	struct extract_doc	 d;
	char			*err = NULL;

	/* The directory claims 4 KiB: only counting the bytes catches it. */
	cr_assert_eq(run_fixture("zipbomb_lying.docx", NULL, &d, &err), -1);
	cr_assert_eq(strncmp(err, "exit 2: ", 8), 0, "%s", err);
	cr_assert_not_null(strstr(err, "inflates to more than"), "%s", err);
	free(err);
}

Test(extract, xml_entities_in_docx_are_refused)
{
	struct extract_doc	 d;
	char			*err = NULL;

	cr_assert_eq(run_fixture("laughs.docx", NULL, &d, &err), -1);
	cr_assert_not_null(strstr(err, "DTD"), "%s", err);
	free(err);
}

Test(extract, corrupt_and_truncated_pdfs_fail)
{
	struct extract_doc	 d;
	char			*err = NULL;

	cr_assert_eq(run_fixture("corrupt.pdf", NULL, &d, &err), -1);
	cr_assert_eq(strncmp(err, "exit 2: PDF", 11), 0, "%s", err);
	free(err);
	cr_assert_eq(run_fixture("truncated.pdf", NULL, &d, &err), -1);
	cr_assert_eq(strncmp(err, "exit 2: PDF", 11), 0, "%s", err);
	free(err);
}

Test(extract, endless_pdf_is_stopped_by_the_cpu_limit)
{
	/*
	 * Room enough that the CPU limit comes first: poppler 22.12.0-2+deb12u3
	 * exhausts the default address space within the second and aborts.
	 */
	char	*argv[] = { NULL, "-c", "1", "-m", "4096", NULL };
	char	*data, *json = NULL, *err = NULL;
	size_t	 len;

	data = fixture("endless.pdf", &len);
	argv[0] = (char *)(uintptr_t)exe();
	cr_assert_eq(extract_runv(argv, data, len, RUN_TIMEOUT_S, RUN_MAX_OUT,
	    &json, &err), -1);
	cr_assert_str_eq(err, "killed by signal 24 (cpu time limit)");
	free(err);
	free(data);
}

Test(extract, endless_pdf_is_stopped_by_the_wall_clock)
{
	/* CPU and memory room enough that the wall clock comes first. */
	char	*argv[] = { NULL, "-c", "60", "-m", "4096", NULL };
	char	*data, *json = NULL, *err = NULL;
	size_t	 len;
	double	 t0 = now_s();

	data = fixture("endless.pdf", &len);
	argv[0] = (char *)(uintptr_t)exe();
	cr_assert_eq(extract_runv(argv, data, len, 1, RUN_MAX_OUT, &json,
	    &err), -1);
	cr_assert_str_eq(err, "timeout");
	cr_assert_lt(now_s() - t0, 5.0);
	free(err);
	free(data);
}

Test(extract, unsupported_content_fails)
{
	struct extract_doc	 d;
	char			*err = NULL;

	cr_assert_eq(run_fixture("nul.txt", NULL, &d, &err), -1);
	cr_assert_str_eq(err, "exit 2: unsupported file type");
	free(err);
	cr_assert_eq(run_fixture("plain_zip.docx", NULL, &d, &err), -1);
	free(err);
	cr_assert_eq(run_fixture("latin1.txt", NULL, &d, &err), -1);
	free(err);
}

Test(extract, docx_xml_walk_handles_cells_breaks_and_fallbacks)
{
	const char	*xml =
	    "<w:document xmlns:w=\"http://schemas.openxmlformats.org/"
	    "wordprocessingml/2006/main\" xmlns:mc=\"http://schemas."
	    "openxmlformats.org/markup-compatibility/2006\"><w:body>"
	    "<w:p><w:r><w:t>A</w:t><w:br/><w:t>B</w:t><w:tab/>"
	    "<w:instrText>PAGE</w:instrText><w:t>C&amp;&#233;</w:t></w:r></w:p>"
	    "<w:tbl><w:tr><w:tc><w:p><w:r><w:t>x1</w:t></w:r></w:p>"
	    "<w:p><w:r><w:t>x2</w:t></w:r></w:p></w:tc><w:tc><w:p/></w:tc>"
	    "<w:tc><w:p><w:r><w:t>z</w:t></w:r></w:p></w:tc></w:tr></w:tbl>"
	    "<w:p><w:r><mc:AlternateContent><mc:Choice><w:t>once</w:t>"
	    "</mc:Choice><mc:Fallback><w:t>twice</w:t></mc:Fallback>"
	    "</mc:AlternateContent></w:r></w:p>"
	    "</w:body></w:document>";
	char		*argv[] = { NULL, "-t", "docx-xml", NULL };
	char		*json = NULL, *err = NULL;
	struct extract_doc d;

	argv[0] = (char *)(uintptr_t)exe();
	cr_assert_eq(extract_runv(argv, xml, strlen(xml), RUN_TIMEOUT_S,
	    RUN_MAX_OUT, &json, &err), 0, "%s", err);
	cr_assert_eq(extract_result_parse(json, strlen(json), &d, &err), 0);
	cr_assert_str_eq(d.text, "A\nB\tC&é\nx1 x2\t\tz\nonce\n");
	extract_doc_free(&d);
	free(json);
}

/* --- the runner's failure paths ----------------------------------------- */

Test(extract, runner_kills_a_child_past_its_deadline)
{
	char	*argv[] = { "/bin/sleep", "30", NULL };
	char	*json = NULL, *err = NULL;
	double	 t0 = now_s();

	cr_assert_eq(extract_runv(argv, "x", 1, 1, 1024, &json, &err), -1);
	cr_assert_str_eq(err, "timeout");
	cr_assert_null(json);
	cr_assert_lt(now_s() - t0, 5.0);
	free(err);
}

Test(extract, runner_reports_death_by_signal)
{
	char	*argv[] = { "/bin/sh", "-c", "kill -SEGV $$", NULL };
	char	*json = NULL, *err = NULL;

	cr_assert_eq(extract_runv(argv, "", 0, 5, 1024, &json, &err), -1);
	cr_assert_str_eq(err, "killed by signal 11");
	free(err);
}

Test(extract, runner_bounds_the_output)
{
	char	*argv[] = { "/usr/bin/yes", NULL };
	char	*json = NULL, *err = NULL;

	cr_assert_eq(extract_runv(argv, "", 0, 5, 100000, &json, &err), -1);
	cr_assert_str_eq(err, "output too large");
	free(err);
}

Test(extract, runner_reports_exit_status_and_message)
{
	char	*a1[] = { "/bin/sh", "-c", "exit 3", NULL };
	char	*a2[] = { "/bin/sh", "-c",
	    "echo '{\"error\":\"bad things\"}'; exit 2", NULL };
	char	*json = NULL, *err = NULL;

	cr_assert_eq(extract_runv(a1, "", 0, 5, 1024, &json, &err), -1);
	cr_assert_str_eq(err, "exit 3");
	free(err);
	cr_assert_eq(extract_runv(a2, "", 0, 5, 1024, &json, &err), -1);
	cr_assert_str_eq(err, "exit 2: bad things");
	free(err);
}

Test(extract, runner_survives_a_child_that_ignores_its_input)
{
	char	*argv[] = { "/bin/true", NULL };
	char	*json = NULL, *err = NULL;
	char	*big = calloc(1, 4 * 1024 * 1024);

	/* Writing into a closed pipe must give EPIPE, not SIGPIPE. */
	cr_assert_eq(extract_runv(argv, big, 4 * 1024 * 1024, 5, 1024, &json,
	    &err), 0, "%s", err);
	cr_assert_str_eq(json, "");
	free(json);
	free(big);
}

Test(extract, runner_reports_a_missing_program)
{
	char	*json = NULL, *err = NULL;

	cr_assert_eq(extract_run("/nonexistent/elenchus-extract", "x", 1, 5,
	    1024, &json, &err), -1);
	cr_assert_eq(strncmp(err, "spawn: ", 7), 0, "%s", err);
	free(err);
}

Test(extract, runner_gives_the_child_no_secrets_or_descriptors)
{
	char	*argv[] = { "/bin/sh", "-c",
	    "env; ls /proc/self/fd | wc -l", NULL };
	char	*json = NULL, *err = NULL;

	setenv("JWT_SECRET", "must-not-leak", 1);
	cr_assert_eq(extract_runv(argv, "", 0, 5, 65536, &json, &err), 0,
	    "%s", err);
	cr_assert_null(strstr(json, "JWT_SECRET"), "%s", json);
	/* 0, 1, 2 and the one ls opens to read the directory. */
	cr_assert_not_null(strstr(json, "\n4\n"), "%s", json);
	free(json);
}
