/* What the chat and conversation handlers share. */
#ifndef ELENCHUS_CHAT_H
#define ELENCHUS_CHAT_H

#include "lib/uuid.h"

/* Path segments: /api/v1/chat/conversations/{id}/documents/{doc} */
#define CHAT_SEG_CONV		4
#define CHAT_SEG_DOC		6
#define CHAT_ID_MAX		(UUID_STRLEN + 2)

#define CHAT_TITLE_MIN		1
#define CHAT_TITLE_MAX		200
#define CHAT_NUM		32

#endif
