/* A valid shared object without the xpool entry point. */
int not_a_plugin_answer(void) {
  return 42;
}
