/*
 * printf.c - the guest's printf engine: vcbprintf streams formatted output
 * to a callback, and the snprintf family wraps it for buffers.
 *
 * Output matches glibc, including its choices where C leaves things open
 * ("(nil)" for a NULL %p, "(null)" for a NULL %s, "-nan").  Floating point is
 * converted exactly: the double is expanded into all of its decimal digits
 * with a small bignum and then rounded half-to-even in decimal, which is what
 * glibc does in the default rounding mode.  It needs no floating-point
 * arithmetic at all.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define MY_INT_MAX  __INT_MAX__
#define MY_SIZE_MAX __SIZE_MAX__

/* Output staging, so the callback sees chunks rather than single bytes. */
struct sink {
	void (*emit)(void *ctx, const char *s, size_t n);
	void *ctx;
	size_t total; /* bytes produced so far, flushed or not */
	size_t buffered;
	char buf[128];
};

static void flush(struct sink *out)
{
	if (out->buffered) {
		out->emit(out->ctx, out->buf, out->buffered);
		out->buffered = 0;
	}
}

static void put_char(struct sink *out, char c)
{
	if (out->buffered == sizeof(out->buf))
		flush(out);
	out->buf[out->buffered++] = c;
	out->total++;
}

static void put_str(struct sink *out, const char *s, size_t n)
{
	if (n > sizeof(out->buf) - out->buffered) {
		flush(out);
		if (n >= sizeof(out->buf)) {
			out->emit(out->ctx, s, n);
			out->total += n;
			return;
		}
	}
	memcpy(out->buf + out->buffered, s, n);
	out->buffered += n;
	out->total += n;
}

static void put_repeat(struct sink *out, char c, size_t n)
{
	while (n--)
		put_char(out, c);
}

#define FLAG_LEFT  1u
#define FLAG_PLUS  2u
#define FLAG_SPACE 4u
#define FLAG_ALT   8u
#define FLAG_ZERO  16u

enum length { LEN_DEFAULT, LEN_HH, LEN_H, LEN_L, LEN_LL, LEN_Z, LEN_J, LEN_T, LEN_LONG_DOUBLE };

struct spec {
	unsigned flags;
	size_t width;
	int precision; /* -1 if not given */
	enum length length;
	char conv;
};

/* Where the padding goes around a field of len bytes. */
struct padding {
	size_t spaces_before;
	size_t zeros; /* between the sign/prefix and the digits */
	size_t spaces_after;
};

static struct padding pad_field(const struct spec *sp, size_t len, bool zero_fill_allowed)
{
	struct padding pad = {0, 0, 0};
	size_t fill = sp->width > len ? sp->width - len : 0;

	if (sp->flags & FLAG_LEFT)
		pad.spaces_after = fill;
	else if ((sp->flags & FLAG_ZERO) && zero_fill_allowed)
		pad.zeros = fill;
	else
		pad.spaces_before = fill;
	return pad;
}

/* Strings, %c and the fixed words (nil, inf, nan): padded with spaces only. */
static void format_text(struct sink *out, const struct spec *sp, const char *prefix,
                        const char *text, size_t len)
{
	size_t prefix_len = strlen(prefix);
	struct padding pad = pad_field(sp, prefix_len + len, false);

	put_repeat(out, ' ', pad.spaces_before);
	put_str(out, prefix, prefix_len);
	put_str(out, text, len);
	put_repeat(out, ' ', pad.spaces_after);
}

static const char *sign_prefix(const struct spec *sp, bool negative)
{
	if (negative)
		return "-";
	if (sp->flags & FLAG_PLUS)
		return "+";
	if (sp->flags & FLAG_SPACE)
		return " ";
	return "";
}

static void format_integer(struct sink *out, const struct spec *sp, unsigned long long magnitude,
                           bool negative)
{
	char digits[24]; /* 22 octal digits for 64 bits */
	size_t digit_count = 0;
	char prefix[4] = "";
	unsigned base = 10;
	const char *digit_chars = "0123456789abcdef";
	bool is_signed = sp->conv == 'd' || sp->conv == 'i';

	if (sp->conv == 'x' || sp->conv == 'X' || sp->conv == 'p')
		base = 16;
	else if (sp->conv == 'o')
		base = 8;
	if (sp->conv == 'X')
		digit_chars = "0123456789ABCDEF";
	for (unsigned long long v = magnitude; v; v /= base)
		digits[sizeof(digits) - ++digit_count] = digit_chars[v % base];

	/* C: precision is the minimum digit count, and 0 printed at .0 is empty. */
	size_t min_digits = sp->precision < 0 ? 1 : (size_t)sp->precision;
	size_t zeros = min_digits > digit_count ? min_digits - digit_count : 0;

	/* glibc honours + and space for %p too, which C leaves undefined. */
	if (is_signed || sp->conv == 'p')
		strcpy(prefix, sign_prefix(sp, negative));
	if ((sp->flags & FLAG_ALT) && magnitude && base == 16)
		strcat(prefix, sp->conv == 'X' ? "0X" : "0x");
	if ((sp->flags & FLAG_ALT) && base == 8 && !zeros &&
	    (!digit_count || digits[sizeof(digits) - digit_count] != '0'))
		zeros = 1;

	size_t prefix_len = strlen(prefix);
	struct padding pad = pad_field(sp, prefix_len + zeros + digit_count, sp->precision < 0);

	put_repeat(out, ' ', pad.spaces_before);
	put_str(out, prefix, prefix_len);
	put_repeat(out, '0', pad.zeros + zeros);
	put_str(out, digits + sizeof(digits) - digit_count, digit_count);
	put_repeat(out, ' ', pad.spaces_after);
}

/*
 * Exact decimal expansion of a finite double, as significant digits with
 * trailing zeros removed: value = 0 if len == 0, otherwise
 * digits[0].digits[1..len-1] x 10^exp10.  The longest expansion (of the
 * smallest normal numbers) has 767 significant digits.
 */
#define DECIMAL_MAX_DIGITS 800
#define LIMB_BASE          1000000000u
#define LIMB_DIGITS        9
#define MAX_LIMBS          90

struct decimal {
	int len;
	int exp10;
	char digits[DECIMAL_MAX_DIGITS];
};

/* Multiplies a little-endian base-1e9 number by factor (< 2^32). */
static void bignum_mul(uint32_t *limbs, int *count, uint32_t factor)
{
	uint64_t carry = 0;

	for (int i = 0; i < *count; i++) {
		uint64_t v = (uint64_t)limbs[i] * factor + carry;

		limbs[i] = v % LIMB_BASE;
		carry = v / LIMB_BASE;
	}
	while (carry) {
		limbs[(*count)++] = carry % LIMB_BASE;
		carry /= LIMB_BASE;
	}
}

/* Sets dec to mantissa x 2^exp2 exactly. */
static void exact_decimal(uint64_t mantissa, int exp2, struct decimal *dec)
{
	uint32_t limbs[MAX_LIMBS];
	int count = 0;
	int scale = 0; /* the value is the bignum / 10^scale */

	dec->len = 0;
	dec->exp10 = 0;
	if (!mantissa)
		return;
	for (uint64_t m = mantissa; m; m /= LIMB_BASE)
		limbs[count++] = m % LIMB_BASE;
	if (exp2 > 0) {
		for (; exp2 >= 31; exp2 -= 31)
			bignum_mul(limbs, &count, (uint32_t)1 << 31);
		bignum_mul(limbs, &count, (uint32_t)1 << exp2);
	} else if (exp2 < 0) {
		/* m / 2^k == m * 5^k / 10^k; 5^13 is the largest power below 2^32. */
		scale = -exp2;
		for (int k = scale; k > 0; k -= 13) {
			uint32_t factor = 1;

			for (int i = 0; i < (k < 13 ? k : 13); i++)
				factor *= 5;
			bignum_mul(limbs, &count, factor);
		}
	}

	/* Top limb without leading zeros, the others as 9 digits each. */
	char top[LIMB_DIGITS];
	int top_len = 0;

	for (uint32_t v = limbs[count - 1]; v; v /= 10)
		top[top_len++] = '0' + v % 10;
	while (top_len)
		dec->digits[dec->len++] = top[--top_len];
	for (int i = count - 2; i >= 0; i--) {
		uint32_t v = limbs[i];

		for (int d = LIMB_DIGITS - 1; d >= 0; d--) {
			dec->digits[dec->len + d] = '0' + v % 10;
			v /= 10;
		}
		dec->len += LIMB_DIGITS;
	}
	dec->exp10 = dec->len - 1 - scale;
	while (dec->digits[dec->len - 1] == '0')
		dec->len--;
}

/*
 * Rounds dec to keep significant digits, half to even.  keep may be zero or
 * negative, meaning the rounding position lies above the first digit.
 */
static void round_decimal(struct decimal *dec, long keep)
{
	bool round_up;

	if (!dec->len || keep >= dec->len)
		return;
	if (keep < 0) {
		round_up = false;
	} else if (dec->digits[keep] != '5') {
		round_up = dec->digits[keep] > '5';
	} else if (keep + 1 < dec->len) {
		/* Trailing zeros are stripped, so anything after the 5 is non-zero. */
		round_up = true;
	} else {
		/* An exact tie; an implicit leading 0 counts as even. */
		round_up = keep > 0 && ((dec->digits[keep - 1] - '0') & 1);
	}
	dec->len = keep < 0 ? 0 : (int)keep;
	if (round_up) {
		while (dec->len && dec->digits[dec->len - 1] == '9')
			dec->len--;
		if (dec->len) {
			dec->digits[dec->len - 1]++;
		} else {
			dec->digits[0] = '1';
			dec->len = 1;
			dec->exp10++;
		}
	}
	while (dec->len && dec->digits[dec->len - 1] == '0')
		dec->len--;
}

/* The digit for 10^pos in dec. */
static char digit_at(const struct decimal *dec, long pos)
{
	long index = dec->exp10 - pos;

	return index >= 0 && index < dec->len ? dec->digits[index] : '0';
}

/* Fraction digits that can be non-zero: up to the last significant digit. */
static size_t significant_fraction(const struct decimal *dec)
{
	long last_pos = (long)dec->exp10 - dec->len + 1;

	return dec->len && last_pos < 0 ? (size_t)-last_pos : 0;
}

static size_t fixed_int_digits(const struct decimal *dec)
{
	return dec->len && dec->exp10 >= 0 ? (size_t)dec->exp10 + 1 : 1;
}

static void put_fixed(struct sink *out, const struct decimal *dec, size_t frac_digits, bool point)
{
	for (long pos = (long)fixed_int_digits(dec) - 1; pos >= 0; pos--)
		put_char(out, digit_at(dec, pos));
	if (point)
		put_char(out, '.');
	size_t nonzero = significant_fraction(dec);
	size_t shown = frac_digits < nonzero ? frac_digits : nonzero;

	for (size_t i = 1; i <= shown; i++)
		put_char(out, digit_at(dec, -(long)i));
	put_repeat(out, '0', frac_digits - shown);
}

/* "e+05": a letter, a sign, and at least min_digits digits. */
static size_t exponent_text(char *buf, char letter, int exponent, size_t min_digits)
{
	unsigned magnitude = exponent < 0 ? -(unsigned)exponent : (unsigned)exponent;
	char digits[8];
	size_t count = 0, len = 0;

	do {
		digits[count++] = '0' + magnitude % 10;
		magnitude /= 10;
	} while (magnitude);
	while (count < min_digits)
		digits[count++] = '0';
	buf[len++] = letter;
	buf[len++] = exponent < 0 ? '-' : '+';
	while (count)
		buf[len++] = digits[--count];
	return len;
}

static void put_scientific(struct sink *out, const struct decimal *dec, size_t frac_digits,
                           bool point, const char *exponent, size_t exponent_len)
{
	put_char(out, dec->len ? dec->digits[0] : '0');
	if (point)
		put_char(out, '.');
	size_t available = dec->len ? (size_t)dec->len - 1 : 0;
	size_t shown = frac_digits < available ? frac_digits : available;

	put_str(out, dec->digits + 1, shown);
	put_repeat(out, '0', frac_digits - shown);
	put_str(out, exponent, exponent_len);
}

/*
 * %a: hex digits straight from the bits.  Like glibc, the lead digit is 1
 * for normal numbers and 0 for subnormals, and rounding to a precision may
 * carry it to 2 rather than renormalising.
 */
static void format_hex_double(struct sink *out, const struct spec *sp, const char *sign,
                              unsigned biased_exp, uint64_t fraction)
{
	bool upper = sp->conv == 'A';
	const char *hex = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	uint64_t mantissa = (biased_exp ? (uint64_t)1 << 52 : 0) | fraction;
	int exp2 = !mantissa ? 0 : biased_exp ? (int)biased_exp - 1023 : -1022;
	size_t shown; /* fraction hex digits printed */

	if (sp->precision < 0) {
		/* Just enough digits to be exact. */
		shown = 13;
		while (shown && !((fraction >> (4 * (13 - shown))) & 0xf))
			shown--;
		mantissa >>= 4 * (13 - shown);
	} else if (sp->precision < 13) {
		unsigned drop = 4 * (13 - sp->precision);
		uint64_t rest = mantissa & (((uint64_t)1 << drop) - 1);
		uint64_t half = (uint64_t)1 << (drop - 1);

		shown = sp->precision;
		mantissa >>= drop;
		if (rest > half || (rest == half && (mantissa & 1)))
			mantissa++;
	} else {
		shown = sp->precision;
	}
	size_t exact = shown < 13 ? shown : 13;
	char prefix[4], body[24], exponent[8];
	size_t body_len = 0, exponent_len;
	bool point = shown > 0 || (sp->flags & FLAG_ALT);

	strcpy(prefix, sign);
	strcat(prefix, upper ? "0X" : "0x");
	body[body_len++] = hex[mantissa >> (4 * exact)];
	if (point)
		body[body_len++] = '.';
	for (size_t i = exact; i-- > 0;)
		body[body_len++] = hex[(mantissa >> (4 * i)) & 0xf];
	exponent_len = exponent_text(exponent, upper ? 'P' : 'p', exp2, 1);

	size_t prefix_len = strlen(prefix);
	struct padding pad =
	    pad_field(sp, prefix_len + body_len + (shown - exact) + exponent_len, true);

	put_repeat(out, ' ', pad.spaces_before);
	put_str(out, prefix, prefix_len);
	put_repeat(out, '0', pad.zeros);
	put_str(out, body, body_len);
	put_repeat(out, '0', shown - exact);
	put_str(out, exponent, exponent_len);
	put_repeat(out, ' ', pad.spaces_after);
}

static void format_double(struct sink *out, const struct spec *sp, double value)
{
	union {
		double d;
		uint64_t bits;
	} pun = {.d = value};
	bool negative = pun.bits >> 63;
	unsigned biased_exp = (pun.bits >> 52) & 0x7ff;
	uint64_t fraction = pun.bits & (((uint64_t)1 << 52) - 1);
	char conv = sp->conv;
	bool upper = conv == 'F' || conv == 'E' || conv == 'G' || conv == 'A';
	const char *prefix = sign_prefix(sp, negative);

	if (biased_exp == 0x7ff) {
		const char *word = fraction ? (upper ? "NAN" : "nan") : (upper ? "INF" : "inf");

		format_text(out, sp, prefix, word, 3);
		return;
	}
	if (conv == 'a' || conv == 'A') {
		format_hex_double(out, sp, prefix, biased_exp, fraction);
		return;
	}

	struct decimal dec;
	uint64_t mantissa = biased_exp ? fraction | (uint64_t)1 << 52 : fraction;
	int exp2 = (biased_exp ? (int)biased_exp : 1) - 1075;
	long precision = sp->precision < 0 ? 6 : sp->precision;
	bool alt = sp->flags & FLAG_ALT;
	bool scientific = conv == 'e' || conv == 'E';

	exact_decimal(mantissa, exp2, &dec);

	if (conv == 'g' || conv == 'G') {
		/* %g: P significant digits, in %e style if the exponent is extreme. */
		long sig = precision ? precision : 1;
		long unrounded_x = dec.len ? dec.exp10 : 0;

		round_decimal(&dec, sig);
		long x = dec.len ? dec.exp10 : 0;

		scientific = !(sig > x && x >= -4);
		precision = scientific ? sig - 1 : sig - 1 - x;
		/*
		 * glibc quirk, copied so output matches the host: when rounding
		 * carries into a new digit (99.7 at %#.2g) and that forces %e
		 * style, glibc keeps the digit count it had planned for %f
		 * style, printing "1.e+02" where C would say "1.0e+02".  Only
		 * visible with '#', as trailing zeros are dropped otherwise.
		 */
		if (scientific && unrounded_x == sig - 1)
			precision = 0;
		if (!alt) {
			/* Drop trailing zeros: show only digits that are significant. */
			size_t needed = scientific ? (dec.len ? (size_t)dec.len - 1 : 0)
			                           : significant_fraction(&dec);

			if ((size_t)precision > needed)
				precision = needed;
		}
	} else if (scientific) {
		round_decimal(&dec, precision + 1);
	} else {
		round_decimal(&dec, (long)dec.exp10 + 1 + precision);
	}

	bool point = precision > 0 || alt;
	char exponent[8];
	size_t exponent_len = 0;
	size_t len = strlen(prefix) + point + (size_t)precision;

	if (scientific) {
		exponent_len =
		    exponent_text(exponent, upper ? 'E' : 'e', dec.len ? dec.exp10 : 0, 2);
		len += 1 + exponent_len;
	} else {
		len += fixed_int_digits(&dec);
	}
	struct padding pad = pad_field(sp, len, true);

	put_repeat(out, ' ', pad.spaces_before);
	put_str(out, prefix, strlen(prefix));
	put_repeat(out, '0', pad.zeros);
	if (scientific)
		put_scientific(out, &dec, precision, point, exponent, exponent_len);
	else
		put_fixed(out, &dec, precision, point);
	put_repeat(out, ' ', pad.spaces_after);
}

static long long fetch_signed(va_list *args, enum length length)
{
	switch (length) {
	case LEN_HH:
		return (signed char)va_arg(*args, int);
	case LEN_H:
		return (short)va_arg(*args, int);
	case LEN_L:
	case LEN_Z: /* the signed type corresponding to size_t is long here */
	case LEN_J:
	case LEN_T:
		return va_arg(*args, long);
	case LEN_LL:
	case LEN_LONG_DOUBLE: /* glibc reads %Ld as long long */
		return va_arg(*args, long long);
	default:
		return va_arg(*args, int);
	}
}

static unsigned long long fetch_unsigned(va_list *args, enum length length)
{
	switch (length) {
	case LEN_HH:
		return (unsigned char)va_arg(*args, unsigned int);
	case LEN_H:
		return (unsigned short)va_arg(*args, unsigned int);
	case LEN_L:
	case LEN_Z:
	case LEN_J:
	case LEN_T:
		return va_arg(*args, unsigned long);
	case LEN_LL:
	case LEN_LONG_DOUBLE:
		return va_arg(*args, unsigned long long);
	default:
		return va_arg(*args, unsigned int);
	}
}

static void store_count(va_list *args, enum length length, size_t count)
{
	switch (length) {
	case LEN_HH:
		*va_arg(*args, signed char *) = (signed char)count;
		break;
	case LEN_H:
		*va_arg(*args, short *) = (short)count;
		break;
	case LEN_L:
	case LEN_Z:
	case LEN_J:
	case LEN_T:
		*va_arg(*args, long *) = (long)count;
		break;
	case LEN_LL:
		*va_arg(*args, long long *) = (long long)count;
		break;
	default:
		*va_arg(*args, int *) = (int)count;
		break;
	}
}

/* Parses flags, width, precision and length; returns the conversion char. */
static const char *parse_spec(const char *fmt, struct spec *sp, va_list *args)
{
	for (;; fmt++) {
		if (*fmt == '-')
			sp->flags |= FLAG_LEFT;
		else if (*fmt == '+')
			sp->flags |= FLAG_PLUS;
		else if (*fmt == ' ')
			sp->flags |= FLAG_SPACE;
		else if (*fmt == '#')
			sp->flags |= FLAG_ALT;
		else if (*fmt == '0')
			sp->flags |= FLAG_ZERO;
		else
			break;
	}
	if (*fmt == '*') {
		int width = va_arg(*args, int);

		/* A negative * width means left-justify, per C. */
		if (width < 0)
			sp->flags |= FLAG_LEFT;
		sp->width = width < 0 ? -(size_t)width : (size_t)width;
		fmt++;
	} else {
		for (; *fmt >= '0' && *fmt <= '9'; fmt++) {
			if (sp->width < MY_INT_MAX)
				sp->width = sp->width * 10 + (*fmt - '0');
		}
	}
	if (*fmt == '.') {
		fmt++;
		if (*fmt == '*') {
			int precision = va_arg(*args, int);

			sp->precision = precision < 0 ? -1 : precision;
			fmt++;
		} else {
			long precision = 0;

			for (; *fmt >= '0' && *fmt <= '9'; fmt++) {
				if (precision < MY_INT_MAX)
					precision = precision * 10 + (*fmt - '0');
			}
			sp->precision = precision > MY_INT_MAX ? MY_INT_MAX : (int)precision;
		}
	}
	switch (*fmt) {
	case 'h':
		sp->length = fmt[1] == 'h' ? LEN_HH : LEN_H;
		fmt += fmt[1] == 'h' ? 2 : 1;
		break;
	case 'l':
		sp->length = fmt[1] == 'l' ? LEN_LL : LEN_L;
		fmt += fmt[1] == 'l' ? 2 : 1;
		break;
	case 'q':
		sp->length = LEN_LL;
		fmt++;
		break;
	case 'z':
		sp->length = LEN_Z;
		fmt++;
		break;
	case 'j':
		sp->length = LEN_J;
		fmt++;
		break;
	case 't':
		sp->length = LEN_T;
		fmt++;
		break;
	case 'L':
		sp->length = LEN_LONG_DOUBLE;
		fmt++;
		break;
	default:
		break;
	}
	sp->conv = *fmt;
	return fmt;
}

int vcbprintf(void (*emit)(void *ctx, const char *s, size_t n), void *ctx, const char *fmt,
              va_list ap)
{
	struct sink out = {.emit = emit, .ctx = ctx};
	va_list args;

	/* Helpers take a va_list *, the portable way to share one va_list. */
	va_copy(args, ap);
	while (*fmt) {
		if (*fmt != '%') {
			const char *run = fmt;

			while (*fmt && *fmt != '%')
				fmt++;
			put_str(&out, run, fmt - run);
			continue;
		}
		const char *spec_start = fmt;
		struct spec sp = {.precision = -1};

		fmt = parse_spec(fmt + 1, &sp, &args);
		switch (sp.conv) {
		case 'd':
		case 'i': {
			long long v = fetch_signed(&args, sp.length);

			format_integer(&out, &sp,
			               v < 0 ? 0 - (unsigned long long)v : (unsigned long long)v,
			               v < 0);
			break;
		}
		case 'u':
		case 'o':
		case 'x':
		case 'X':
			format_integer(&out, &sp, fetch_unsigned(&args, sp.length), false);
			break;
		case 'p': {
			void *ptr = va_arg(args, void *);

			if (ptr) {
				sp.flags |= FLAG_ALT;
				format_integer(&out, &sp, (uintptr_t)ptr, false);
			} else {
				format_text(&out, &sp, "", "(nil)", 5);
			}
			break;
		}
		case 'c': {
			char c = (char)va_arg(args, int);

			format_text(&out, &sp, "", &c, 1);
			break;
		}
		case 's': {
			const char *s = va_arg(args, const char *);

			/* glibc prints "(null)" only if the precision lets all of it show. */
			if (!s)
				s = sp.precision < 0 || sp.precision >= 6 ? "(null)" : "";
			format_text(&out, &sp, "", s,
			            sp.precision < 0 ? strlen(s) : strnlen(s, sp.precision));
			break;
		}
		case 'f':
		case 'F':
		case 'e':
		case 'E':
		case 'g':
		case 'G':
		case 'a':
		case 'A': {
			double v = sp.length == LEN_LONG_DOUBLE ? (double)va_arg(args, long double)
			                                        : va_arg(args, double);

			format_double(&out, &sp, v);
			break;
		}
		case 'n':
			store_count(&args, sp.length, out.total);
			break;
		case '%':
			put_char(&out, '%');
			break;
		case '\0':
			/* A lone % at the end: print it and stop. */
			put_str(&out, spec_start, fmt - spec_start);
			continue;
		default:
			/* Unknown conversions are echoed, as glibc does. */
			put_str(&out, spec_start, fmt + 1 - spec_start);
			break;
		}
		fmt++;
	}
	va_end(args);
	flush(&out);
	if (out.total > MY_INT_MAX) {
		errno = EOVERFLOW;
		return -1;
	}
	return (int)out.total;
}

struct buffer_ctx {
	char *buf;
	size_t room; /* bytes we may still write, excluding the final NUL */
};

static void buffer_emit(void *ctx, const char *s, size_t n)
{
	struct buffer_ctx *bc = ctx;
	size_t take = n < bc->room ? n : bc->room;

	memcpy(bc->buf, s, take);
	bc->buf += take;
	bc->room -= take;
}

int vsnprintf(char *restrict buf, size_t size, const char *restrict fmt, va_list ap)
{
	struct buffer_ctx bc = {buf, size ? size - 1 : 0};
	int len = vcbprintf(buffer_emit, &bc, fmt, ap);

	if (size)
		*bc.buf = '\0';
	return len;
}

int snprintf(char *restrict buf, size_t size, const char *restrict fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int len = vsnprintf(buf, size, fmt, ap);

	va_end(ap);
	return len;
}

int vsprintf(char *restrict buf, const char *restrict fmt, va_list ap)
{
	/* No size is known; limit it so that buf + size cannot wrap. */
	return vsnprintf(buf, MY_SIZE_MAX / 2, fmt, ap);
}

int sprintf(char *restrict buf, const char *restrict fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int len = vsprintf(buf, fmt, ap);

	va_end(ap);
	return len;
}
