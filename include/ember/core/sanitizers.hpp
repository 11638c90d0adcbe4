#pragma once
// EMBER_ASAN: 1 when this translation unit is compiled with AddressSanitizer, else 0. g++ defines
// __SANITIZE_ADDRESS__; clang does not and answers __has_feature(address_sanitizer) instead, so a
// check of the first alone would leave, under clang (the fuzz build), the caching allocator on and
// use-after-free hidden.
#if defined(__SANITIZE_ADDRESS__)
#define EMBER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define EMBER_ASAN 1
#endif
#endif
#ifndef EMBER_ASAN
#define EMBER_ASAN 0
#endif
