__declspec(dllexport) int not_a_provider(void) { return 0; }
