/* ProcessPrng for Wine 8 (Debian 12), which lacks bcryptprimitives.dll: Rust's standard library
 * for Windows draws its randomness from ProcessPrng since Rust 1.78. Only the Windows tests under
 * Wine load this (scripts/test_windows.sh); Windows itself has the real one since Windows 8. */
#include <windows.h>

/* RtlGenRandom, the system's CSPRNG, exported by advapi32 under this name. */
BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length) {
    while (length > 0) {
        ULONG part = length > 0x40000000 ? 0x40000000 : (ULONG)length;
        if (!SystemFunction036(data, part)) {
            return FALSE;
        }
        data += part;
        length -= part;
    }
    return TRUE;
}
