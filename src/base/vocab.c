/* vocab.c - the name rules the clients, the agent and the store share (see
 * vocab.h). */
#include "scalpels/vocab.h"

static bool name_chars_valid(const char *name, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return false;
    }
    return true;
}

bool sca_tracer_name_valid(const char *name, size_t len)
{
    return len >= 1 && len <= SCA_TRACER_NAME_MAX && name_chars_valid(name, len);
}

bool sca_option_name_valid(const char *name, size_t len)
{
    return len >= 1 && len <= SCA_OPTION_NAME_MAX && name_chars_valid(name, len);
}

bool sca_uuid_canonical(const char *s)
{
    for (int i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        char c = s[i];
        if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
    }
    return s[36] == '\0';
}
