# bench/compute/gen_big.awk - writes a large C program for timing `hedge build`:
#   awk -v n=3000 -f bench/compute/gen_big.awk > big.c
# N functions, each with a loop, a switch and a snprintf, all reached through
# a table from main so that nothing is dead code.  With clang -O2 for
# wasm32-wasi, n=3000 gives a module of about 1.1 MB.  It prints one number,
# the same natively and as WebAssembly.
BEGIN {
	if (n == "")
		n = 3000
	print "#include <stdint.h>"
	print "#include <stdio.h>"
	print "#include <string.h>"
	print ""
	for (i = 0; i < n; i++) {
		printf "static uint32_t f%d(uint32_t x, const char *s)\n{\n", i
		printf "\tuint32_t h = %uu ^ x;\n", (i * 2654435761) % 4294967296
		printf "\tfor (size_t k = 0; s[k]; k++)\n"
		printf "\t\th = (h ^ (uint8_t)s[k]) * %uu + %d;\n", (i * 40503 + 16777619) % 4294967296, i
		printf "\tswitch (h %% %d) {\n", 5 + i % 7
		for (c = 0; c < 5; c++)
			printf "\tcase %d: h = (h << %d) | (h >> %d); h += %d * x; break;\n", c,
			    1 + (i + c) % 30, 31 - (i + c) % 30, c * i + 1
		printf "\tdefault: h ^= h >> %d; if (h & 1) h = h * 3 + 1; else h /= %d;\n\t}\n",
		    1 + i % 17, 2 + i % 5
		printf "\tchar buf[32];\n\tsnprintf(buf, sizeof buf, \"%%u-%d\", h);\n", i
		printf "\treturn h + (uint32_t)strlen(buf);\n}\n\n"
	}
	print "typedef uint32_t (*fn)(uint32_t, const char *);"
	printf "static const fn table[] = {"
	for (i = 0; i < n; i++)
		printf "%sf%d,", (i % 10 == 0 ? "\n\t" : " "), i
	print "\n};\n"
	print "int main(int argc, char **argv)\n{"
	print "\tuint32_t h = (uint32_t)argc;"
	print "\tconst char *s = argc > 1 ? argv[1] : \"hedge\";"
	print "\tfor (size_t i = 0; i < sizeof table / sizeof table[0]; i++)"
	print "\t\th = table[i](h, s);"
	print "\tprintf(\"%u\\n\", h);"
	print "\treturn 0;\n}"
}
