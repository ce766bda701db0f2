/*
 * certutil.c - the base64 file verbs of Windows certutil.exe, same file format.
 *
 *   certutil [-f] -encode IN OUT   IN bytes -> OUT: "-----BEGIN CERTIFICATE-----", base64 lines
 *                                  of 64 characters, "-----END CERTIFICATE-----", all CRLF.
 *   certutil [-f] -decode IN OUT   base64 IN (header/footer lines optional, any line length,
 *                                  CRLF or LF) -> OUT bytes.
 *
 * Without -f an existing OUT is an error (0x80070050), as on Windows. Exit code 0 on success,
 * otherwise the HRESULT (negative), with a "CertUtil: ... FAILED" message like Windows's.
 * Wine 8's builtin certutil.exe is a stub that does nothing and returns 0.
 */
#include <windows.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LINE_CHARS 64

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int fail(const char *verb, HRESULT hr, const char *detail)
{
    char msg[512];
    DWORD code = HRESULT_FACILITY(hr) == FACILITY_WIN32 ? HRESULT_CODE(hr) : (DWORD)hr;
    DWORD n = FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL, code,
                             MAKELANGID(LANG_ENGLISH, SUBLANG_ENGLISH_US), msg, sizeof msg, NULL);
    if (n == 0)
        n = FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL, code,
                           0, msg, sizeof msg, NULL);
    while (n > 0 && (msg[n - 1] == '\r' || msg[n - 1] == '\n' || msg[n - 1] == ' '))
        msg[--n] = '\0';
    if (HRESULT_FACILITY(hr) == FACILITY_WIN32)
        printf("CertUtil: %s command FAILED: 0x%08lx (WIN32: %lu)\n", verb, (unsigned long)hr,
               (unsigned long)code);
    else
        printf("CertUtil: %s command FAILED: 0x%08lx (%ld)\n", verb, (unsigned long)hr, (long)hr);
    printf("CertUtil: %s\n", detail ? detail : (n ? msg : "error"));
    return (int)hr;
}

static int read_all(const char *path, unsigned char **data, DWORD *size, HRESULT *hr)
{
    HANDLE h = CreateFileA(path, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL,
                           OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
    DWORD got = 0, total = 0;
    LARGE_INTEGER li;
    if (h == INVALID_HANDLE_VALUE) {
        *hr = HRESULT_FROM_WIN32(GetLastError());
        return 0;
    }
    if (!GetFileSizeEx(h, &li) || li.QuadPart > 0x7fffffff) {
        *hr = HRESULT_FROM_WIN32(ERROR_FILE_TOO_LARGE);
        CloseHandle(h);
        return 0;
    }
    *data = (unsigned char *)malloc((size_t)li.QuadPart + 1);
    if (*data == NULL) {
        *hr = E_OUTOFMEMORY;
        CloseHandle(h);
        return 0;
    }
    while (total < (DWORD)li.QuadPart) {
        if (!ReadFile(h, *data + total, (DWORD)li.QuadPart - total, &got, NULL)) {
            *hr = HRESULT_FROM_WIN32(GetLastError());
            CloseHandle(h);
            return 0;
        }
        if (got == 0)
            break;
        total += got;
    }
    CloseHandle(h);
    *size = total;
    return 1;
}

static int write_all(const char *path, const void *data, DWORD size, int force, HRESULT *hr)
{
    HANDLE h = CreateFileA(path, GENERIC_WRITE, 0, NULL, force ? CREATE_ALWAYS : CREATE_NEW,
                           FILE_ATTRIBUTE_NORMAL, NULL);
    DWORD done = 0;
    if (h == INVALID_HANDLE_VALUE) {
        *hr = HRESULT_FROM_WIN32(GetLastError());
        return 0;
    }
    if (size > 0 && (!WriteFile(h, data, size, &done, NULL) || done != size)) {
        *hr = HRESULT_FROM_WIN32(GetLastError());
        CloseHandle(h);
        return 0;
    }
    CloseHandle(h);
    return 1;
}

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

static int do_encode(const char *in, const char *out, int force)
{
    unsigned char *data = NULL;
    DWORD size = 0, i, col = 0;
    HRESULT hr = S_OK;
    static const char head[] = "-----BEGIN CERTIFICATE-----\r\n";
    static const char tail[] = "-----END CERTIFICATE-----\r\n";
    size_t cap, pos = 0;
    char *text;

    if (!read_all(in, &data, &size, &hr))
        return fail("-encode", hr, NULL);
    cap = sizeof head + sizeof tail + ((size_t)size + 2) / 3 * 4 + ((size_t)size / 48 + 2) * 2;
    text = (char *)malloc(cap);
    if (text == NULL)
        return fail("-encode", E_OUTOFMEMORY, NULL);
    memcpy(text, head, sizeof head - 1);
    pos = sizeof head - 1;
    for (i = 0; i < size; i += 3) {
        unsigned v = (unsigned)data[i] << 16;
        int n = (size - i >= 3) ? 3 : (int)(size - i);
        if (n > 1) v |= (unsigned)data[i + 1] << 8;
        if (n > 2) v |= data[i + 2];
        text[pos++] = B64[(v >> 18) & 63];
        text[pos++] = B64[(v >> 12) & 63];
        text[pos++] = n > 1 ? B64[(v >> 6) & 63] : '=';
        text[pos++] = n > 2 ? B64[v & 63] : '=';
        col += 4;
        if (col == LINE_CHARS) {
            text[pos++] = '\r';
            text[pos++] = '\n';
            col = 0;
        }
    }
    if (col != 0) {
        text[pos++] = '\r';
        text[pos++] = '\n';
    }
    memcpy(text + pos, tail, sizeof tail - 1);
    pos += sizeof tail - 1;
    if (!write_all(out, text, (DWORD)pos, force, &hr))
        return fail("-encode", hr, NULL);
    printf("Input Length = %lu\n", (unsigned long)size);
    printf("Output Length = %lu\n", (unsigned long)pos);
    printf("CertUtil: -encode command completed successfully.\n");
    free(text);
    free(data);
    return 0;
}

static int do_decode(const char *in, const char *out, int force)
{
    unsigned char *data = NULL, *bytes;
    DWORD size = 0, i = 0;
    HRESULT hr = S_OK;
    size_t n = 0;
    unsigned acc = 0;
    int bits = 0, pad = 0;

    if (!read_all(in, &data, &size, &hr))
        return fail("-decode", hr, NULL);
    bytes = (unsigned char *)malloc((size_t)size / 4 * 3 + 3);
    if (bytes == NULL)
        return fail("-decode", E_OUTOFMEMORY, NULL);
    while (i < size) {
        /* One line at a time; "-----BEGIN ...-----" / "-----END ...-----" lines are skipped. */
        DWORD start = i, end;
        while (i < size && data[i] != '\n')
            ++i;
        end = i;
        if (i < size)
            ++i;
        while (start < end && (data[start] == ' ' || data[start] == '\t'))
            ++start;
        if (end - start >= 5 && memcmp(data + start, "-----", 5) == 0)
            continue;
        for (; start < end; ++start) {
            unsigned char c = data[start];
            int v;
            if (c == '\r' || c == ' ' || c == '\t')
                continue;
            if (c == '=') {
                ++pad;
                continue;
            }
            v = b64_value(c);
            if (v < 0 || pad) {
                free(bytes);
                free(data);
                return fail("-decode", (HRESULT)0x80090005L, "Bad Data.");
            }
            acc = (acc << 6) | (unsigned)v;
            bits += 6;
            if (bits >= 8) {
                bits -= 8;
                bytes[n++] = (unsigned char)((acc >> bits) & 0xff);
            }
        }
    }
    if (pad > 2 || bits >= 6) {
        free(bytes);
        free(data);
        return fail("-decode", (HRESULT)0x80090005L, "Bad Data.");
    }
    if (!write_all(out, bytes, (DWORD)n, force, &hr))
        return fail("-decode", hr, NULL);
    printf("Input Length = %lu\n", (unsigned long)size);
    printf("Output Length = %lu\n", (unsigned long)n);
    printf("CertUtil: -decode command completed successfully.\n");
    free(bytes);
    free(data);
    return 0;
}

int main(int argc, char **argv)
{
    int i, force = 0;
    const char *verb = NULL, *files[2] = {NULL, NULL};
    int nfiles = 0;
    for (i = 1; i < argc; ++i) {
        const char *a = argv[i];
        if ((a[0] == '-' || a[0] == '/') && nfiles == 0) {
            if (_stricmp(a + 1, "f") == 0) force = 1;
            else if (_stricmp(a + 1, "encode") == 0) verb = "-encode";
            else if (_stricmp(a + 1, "decode") == 0) verb = "-decode";
            else {
                printf("CertUtil: Unknown arg: %s\n", a);
                return (int)E_INVALIDARG;
            }
        } else if (nfiles < 2) {
            files[nfiles++] = a;
        } else {
            printf("CertUtil: Too many arguments\n");
            return (int)E_INVALIDARG;
        }
    }
    if (verb == NULL || nfiles != 2) {
        printf("Usage:\n  CertUtil [-f] -encode InFile OutFile\n"
               "  CertUtil [-f] -decode InFile OutFile\n");
        return verb == NULL && nfiles == 0 ? 0 : (int)E_INVALIDARG;
    }
    if (strcmp(verb, "-encode") == 0)
        return do_encode(files[0], files[1], force);
    return do_decode(files[0], files[1], force);
}
